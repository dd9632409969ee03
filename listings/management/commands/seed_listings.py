"""Bulk-insert synthetic published listings, to measure browse and search at scale.

    python manage.py seed_listings --count 100000 [--owners 500] [--seed 7] [--clear]

Not for production data: the owners are synthetic accounts (synthetic-<n>@example.invalid)
with verified profiles, and the rows skip the review services. What the services would
compute is written directly: the search document with listing_index's weights
(title A, category and software B, description C), in one UPDATE per batch.
The same seed gives the same listings (the dates count back from the current hour)."""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Profile, User
from listings import browse_cache
from listings.models import (
    MAX_PRICE_CENTS,
    MIN_PRICE_CENTS,
    CadSoftware,
    Category,
    Favorite,
    Listing,
    ListingImage,
    ListingOption,
)
from listings.selectors import SEARCH_CONFIG

SYNTHETIC_EMAIL = "synthetic-{}@example.invalid"
SYNTHETIC_DOMAIN = "@example.invalid"
BATCH = 5000


@dataclass(frozen=True)
class Kind:
    """What a category's listings talk about."""

    things: tuple[str, ...]
    materials: tuple[str, ...]
    units: tuple[str, ...]  # empty: never priced per unit
    price: tuple[int, int]  # cents, low and high
    software: tuple[str, ...]  # CadSoftware slugs, most used first
    weight: int = 10  # how common the category is


GENERAL_SOFTWARE = ("exocad-dentalcad", "3shape-dental-system", "dental-wings-dwos", "inlabcerec", "medit",
                    "blender-for-dental", "zirkonzahn", "carestream", "shining-3d")
KINDS = {
    "crowns-bridges": Kind(
        ("crowns", "bridges", "anatomic crowns", "full-contour crowns", "reduced copings", "long-term temporaries",
         "3-unit bridges", "Maryland bridges", "telescopic crowns", "posterior crowns", "anterior crowns"),
        ("zirconia", "multilayer zirconia", "lithium disilicate", "e.max", "PMMA", "cobalt-chrome", "gold alloy",
         "hybrid ceramic", "translucent zirconia"),
        ("tooth", "unit"), (900, 4500), GENERAL_SOFTWARE, weight=30,
    ),
    "inlays-onlays-veneers": Kind(
        ("veneers", "inlays", "onlays", "table tops", "overlays", "partial crowns", "no-prep veneers"),
        ("e.max", "lithium disilicate", "feldspathic ceramic", "composite", "hybrid ceramic", "zirconia"),
        ("tooth",), (1000, 4000), GENERAL_SOFTWARE, weight=12,
    ),
    "implant-abutments-screw-retained-crowns": Kind(
        ("custom abutments", "screw-retained crowns", "Ti-base crowns", "hybrid abutment crowns",
         "angled screw channel crowns", "implant bridges", "abutments"),
        ("titanium", "zirconia", "e.max", "PEEK", "cobalt-chrome", "multilayer zirconia"),
        ("unit", "implant"), (2000, 7500), GENERAL_SOFTWARE, weight=15,
    ),
    "all-on-x-hybrid-bars": Kind(
        ("All-on-4 bars", "All-on-6 hybrid bridges", "milled bars", "Prettau bridges", "full-arch prototypes",
         "Dolder bars", "hybrid dentures", "full-arch bridges"),
        ("titanium", "cobalt-chrome", "zirconia", "PMMA", "printed resin"),
        ("arch",), (9000, 40000), GENERAL_SOFTWARE, weight=8,
    ),
    "full-dentures": Kind(
        ("complete dentures", "digital dentures", "copy dentures", "immediate dentures", "try-in dentures",
         "denture setups"),
        ("PMMA", "printed resin", "milled PMMA", "high-impact acrylic"),
        ("arch",), (4000, 15000), ("3shape-dental-system", "exocad-dentalcad", "blender-for-dental"), weight=7,
    ),
    "partial-dentures-rpd-frameworks": Kind(
        ("RPD frameworks", "partial frameworks", "clasp partials", "cast partials", "flexible partials"),
        ("cobalt-chrome", "titanium", "PEEK", "printed resin"),
        ("arch",), (3000, 10000), ("3shape-dental-system", "exocad-dentalcad", "dental-wings-dwos"), weight=5,
    ),
    "night-guards-splints": Kind(
        ("night guards", "occlusal splints", "Michigan splints", "sports guards", "bruxism splints",
         "deprogrammers", "hard-soft splints"),
        ("printed resin", "PMMA", "clear resin", "hard-soft resin"),
        ("arch",), (1500, 6000), GENERAL_SOFTWARE, weight=8,
    ),
    "surgical-guides": Kind(
        ("surgical guides", "pilot-drill guides", "fully guided templates", "bone reduction guides",
         "stackable guides", "implant planning"),
        ("printed resin", "clear resin", "titanium sleeves"),
        ("guide", "arch"), (5000, 20000), ("codiagnostix", "blue-sky-plan", "exocad-dentalcad",
                                           "3shape-dental-system"), weight=6,
    ),
    "smile-design": Kind(
        ("smile designs", "diagnostic wax-ups", "mock-ups", "smile previews", "aesthetic wax-ups"),
        ("PMMA", "printed resin", "composite"),
        (), (4000, 20000), ("exocad-dentalcad", "blender-for-dental", "3shape-dental-system"), weight=5,
    ),
    "orthodontic-models-aligners": Kind(
        ("aligner models", "clear aligner setups", "retainers", "indirect bonding trays", "orthodontic setups"),
        ("printed resin", "clear resin"),
        ("arch",), (1500, 8000), ("3shape-dental-system", "blender-for-dental", "exocad-dentalcad"), weight=5,
    ),
    "models-dies": Kind(
        ("printable models", "die models", "implant models", "articulated model bases", "study models"),
        ("printed resin", "model resin"),
        ("arch",), (700, 3000), GENERAL_SOFTWARE, weight=4,
    ),
}
GENERIC = Kind(("restorations", "designs", "cases"), ("zirconia", "PMMA", "titanium"), ("unit",), (1000, 8000),
               GENERAL_SOFTWARE, weight=3)

ADJECTIVES = ("Natural", "Precise", "Fast", "Lab-quality", "Aesthetic", "Functional", "Reliable", "Careful",
              "Detailed", "Affordable", "Premium", "Clean", "Accurate")
AUDIENCES = ("dental labs", "clinics", "milling centres", "busy labs", "chairside milling", "print farms",
             "small labs", "implant clinics")
FEATURES = ("checked contacts", "natural anatomy", "clean margins", "minimum thickness checks", "occlusal analysis",
            "emergence profile design", "the native project file", "STL and project files", "virtual articulator",
            "free first revision", "nesting for your mill", "support for printing")
TEETH = ("11-21", "12-22", "13-23", "14-17", "24-27", "34-37", "44-47", "31-41", "15-25", "35-45", "16", "26",
         "36", "46")
MANUFACTURING = ("milling", "printing", "pressing", "milling or printing")

TITLES = (
    "{M} {t} designed in {S}",
    "{T} in {m}, ready for {P}",
    "{M} {t} for {A}",
    "{J} {m} {t} with {F}",
    "{T} in {m}, teeth {R}",
    "{S} design: {m} {t}",
    "{T} from intraoral scans, {D}-day delivery",
    "{J} {t} in {S}",
    "{M} {t}, {F} included",
)
OPENERS = (
    "I design {t} in {m} using {s} for labs and clinics that want predictable results.",
    "Send me your intraoral or model scans and I return {t} ready for {p}.",
    "Experienced dental CAD designer offering {t} in {m}, designed in {s}.",
    "{T} in {m} for {a}, designed by a dental technician with years of bench experience.",
    "Digital design of {t} for {p}: {m}, {s}, and a careful check before delivery.",
    "Reliable design service for {t} in {m}, teeth {r} and full arches alike.",
    "Looking for a designer for your {t}? I work in {s} every day and know {m} well.",
    "Outsource your {t} and keep your mill busy: {m} designs from {s}, on time.",
)
DETAILS = (
    "Contacts, occlusion and minimum thickness are checked on every unit.",
    "Margins are traced at high magnification and marked clearly for the milling centre.",
    "Anatomy follows the neighbouring teeth and the antagonist, with natural cusps and grooves.",
    "The cement gap and spacer settings follow the recommendations for {m}.",
    "Files are delivered as STL together with the native {s} project.",
    "Connector sizes respect the minimum cross-section for {m}.",
    "Emergence profiles are shaped for healthy soft tissue and easy cleaning.",
    "Every design is reviewed against the scan before it leaves my desk.",
    "I can match your lab's library and design preferences after the first case.",
    "Screw channels, insertion paths and undercuts are checked in the virtual articulator.",
    "The design is nested and ready for {p}, so your team can start right away.",
    "Minimum wall thickness of {w} mm is respected everywhere.",
    "Cases for teeth {r} are my daily work, from single units to full arches.",
    "Occlusal contacts are adjusted in static and dynamic occlusion.",
)
NEEDS = (
    "Please include the antagonist scan, the bite registration and the shade.",
    "Send the scans with the preparation, the antagonist and a short note about the material.",
    "Tell me the material, the shade and any special wishes from the dentist.",
    "I need the upper and lower scans, the bite, and photos if the case is aesthetic.",
    "Include the implant system and platform if the case is on implants.",
    "Let me know your mill or printer so the files fit your workflow.",
)
CLOSERS = (
    "{v} included, delivery in {dd}.",
    "Turnaround is {dd} with {v} included.",
    "Usually delivered within {dd}; the price includes {v}.",
    "Expect the files within {dd}, {v} included.",
)
FIRST = ("Anna", "Luca", "Sofia", "Mateo", "Mia", "Noah", "Elif", "Omar", "Yuki", "Chen", "Priya", "Lars", "Ines",
         "Tomas", "Nadia", "Kofi", "Hana", "Diego", "Marta", "Ivan", "Leila", "Jonas", "Aylin", "Rafael")
LAST = ("Schmidt", "Rossi", "Garcia", "Kowalski", "Nguyen", "Tanaka", "Silva", "Novak", "Hansen", "Moreau",
        "Costa", "Yilmaz", "Petrov", "Kim", "Sato", "Fischer", "Lopez", "Haddad", "Mensah", "Olsen")
COUNTRIES = ("DE", "IT", "ES", "PL", "FR", "US", "BR", "TR", "JP", "IN", "MX", "RO", "UA", "PT", "GB", "CA")
LANGUAGES = ("en", "de", "it", "es", "pl", "fr", "pt", "tr", "ja", "ro", "uk")
TURNAROUNDS = (1, 2, 3, 4, 5, 7, 10)
TURNAROUND_WEIGHTS = (15, 25, 25, 10, 12, 8, 5)
REVISIONS = (0, 1, 1, 2, 2, 2, 3, 3, 5)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _revisions(count: int) -> str:
    if count == 0:
        return "no revisions"
    return "one revision" if count == 1 else f"{count} revisions"


class Generator:
    """Listing content from a seeded random generator."""

    def __init__(self, seed: int, categories: list[Category], software: dict[str, CadSoftware]):
        self.rng = random.Random(seed)
        self.categories = categories
        self.kinds = [KINDS.get(category.slug, GENERIC) for category in categories]
        self.weights = [kind.weight for kind in self.kinds]
        self.software = software
        self.all_software = list(software.values())

    def pick_software(self, kind: Kind) -> list[CadSoftware]:
        known = [self.software[slug] for slug in kind.software if slug in self.software] or self.all_software
        count = min(len(known), self.rng.choices((1, 2, 3), (55, 35, 10))[0])
        chosen: list[CadSoftware] = []
        while len(chosen) < count:  # the first names of the list are the most used
            candidate = known[min(len(known) - 1, int(self.rng.expovariate(0.8)))]
            if candidate not in chosen:
                chosen.append(candidate)
        return chosen

    def listing(self, *, owner_id: int, anchor) -> tuple[Listing, list[CadSoftware]]:
        rng = self.rng
        index = rng.choices(range(len(self.categories)), self.weights)[0]
        category, kind = self.categories[index], self.kinds[index]
        software = self.pick_software(kind)
        thing, material = rng.choice(kind.things), rng.choice(kind.materials)
        turnaround = rng.choices(TURNAROUNDS, TURNAROUND_WEIGHTS)[0]
        revisions = rng.choice(REVISIONS)
        words = {
            "T": _cap(thing), "t": thing, "M": _cap(material), "m": material, "S": software[0].name,
            "s": software[0].name, "A": rng.choice(AUDIENCES), "a": rng.choice(AUDIENCES),
            "J": rng.choice(ADJECTIVES), "F": rng.choice(FEATURES), "R": rng.choice(TEETH), "r": rng.choice(TEETH),
            "P": rng.choice(MANUFACTURING), "p": rng.choice(MANUFACTURING), "D": turnaround,
            "dd": "1 working day" if turnaround == 1 else f"{turnaround} working days",
            "v": _revisions(revisions), "w": rng.choice(("0.4", "0.5", "0.6", "0.8", "1.0")),
        }
        title = _cap(rng.choice(TITLES).format(**words))[:100]
        sentences = [rng.choice(OPENERS), *rng.sample(DETAILS, rng.randint(2, 4)), rng.choice(NEEDS),
                     rng.choice(CLOSERS)]
        description = " ".join(_cap(sentence.format(**words)) for sentence in sentences)
        low, high = kind.price
        price = int(round(math.exp(rng.uniform(math.log(low), math.log(high))) / 50) * 50)
        unit = rng.choice(kind.units) if kind.units and rng.random() < 0.7 else ""
        published = anchor - timedelta(seconds=rng.randint(0, 365 * 24 * 3600))
        submitted = published - timedelta(seconds=rng.randint(600, 3 * 24 * 3600))
        expires = (anchor + timedelta(days=rng.randint(30, 400))).date() if rng.random() < 0.05 else None
        listing = Listing(
            owner_id=owner_id, status=Listing.Status.PUBLISHED, title=title, slug=slugify(title)[:110] or "listing",
            category_id=category.pk, description=description, revisions_included=revisions,
            price_cents=max(MIN_PRICE_CENTS, min(MAX_PRICE_CENTS, price)), is_per_unit=bool(unit), unit_name=unit,
            turnaround_days=turnaround, expires_on=expires, submitted_at=submitted, reviewed_at=published,
            published_at=published,
        )
        return listing, software


def search_vector_sql() -> str:
    """The search document of listing_index, for many rows at once: the software names joined in
    CadSoftware's order, after the category name."""
    through = Listing.software.through
    field = Listing._meta.get_field("software")
    return f"""
        UPDATE {Listing._meta.db_table} AS l
        SET search_vector =
                setweight(to_tsvector(%(config)s::regconfig, COALESCE(l.title, '')), 'A')
             || setweight(to_tsvector(%(config)s::regconfig, COALESCE(c.name || ' ' || COALESCE((
                    SELECT string_agg(s.name, ' ' ORDER BY s.position, s.name)
                    FROM {through._meta.db_table} AS ls
                    JOIN {CadSoftware._meta.db_table} AS s ON s.id = ls.{field.m2m_reverse_name()}
                    WHERE ls.{field.m2m_column_name()} = l.id), ''), '')), 'B')
             || setweight(to_tsvector(%(config)s::regconfig, COALESCE(l.description, '')), 'C'),
            created_at = l.submitted_at,
            updated_at = l.reviewed_at
        FROM {Category._meta.db_table} AS c
        WHERE c.id = l.category_id AND l.id = ANY(%(ids)s)
    """


def synthetic_owners(count: int, *, anchor) -> list[int]:
    """Ids of `count` verified synthetic accounts, created when missing."""
    emails = [SYNTHETIC_EMAIL.format(number) for number in range(1, count + 1)]
    existing = dict(User.objects.filter(email__in=emails).values_list("email", "pk"))
    missing = []
    for number, email in enumerate(emails, start=1):
        if email not in existing:
            first, last = FIRST[number % len(FIRST)], LAST[(number * 7) % len(LAST)]
            missing.append(User(email=email, username=f"synthetic-{number}", first_name=first, last_name=last,
                                password=make_password(None), date_joined=anchor - timedelta(days=500)))
    for user in User.objects.bulk_create(missing, batch_size=1000):
        existing[user.email] = user.pk
    ids = [existing[email] for email in emails]
    with_profile = set(Profile.objects.filter(user_id__in=ids).values_list("user_id", flat=True))
    users = User.objects.in_bulk([pk for pk in ids if pk not in with_profile])
    Profile.objects.bulk_create(
        [
            Profile(
                user_id=pk, display_name=f"{user.first_name} {user.last_name}",
                about=f"Dental CAD designer. Synthetic account number {pk} for load tests.",
                languages=["en", LANGUAGES[pk % len(LANGUAGES)]], country=COUNTRIES[pk % len(COUNTRIES)],
                terms_version="synthetic", terms_accepted_at=anchor - timedelta(days=500),
                verified_at=anchor - timedelta(days=400),
            )
            for pk, user in users.items()
        ],
        batch_size=1000,
    )
    Profile.objects.filter(user_id__in=ids, verified_at__isnull=True).update(verified_at=anchor - timedelta(days=400))
    return ids


def clear_synthetic() -> int:
    """Delete the listings of the synthetic accounts (not the accounts). Returns how many."""
    field = Listing._meta.get_field("software")
    recipients = Listing._meta.get_field("recipients")
    table = Listing._meta.db_table
    owned = f"SELECT l.id FROM {table} l JOIN {User._meta.db_table} u ON u.id = l.owner_id WHERE u.email LIKE %s"
    pattern = "synthetic-%" + SYNTHETIC_DOMAIN
    with transaction.atomic(), connection.cursor() as cursor:
        for model_table, column in [
            (field.remote_field.through._meta.db_table, field.m2m_column_name()),
            (recipients.remote_field.through._meta.db_table, recipients.m2m_column_name()),
            (ListingOption._meta.db_table, "listing_id"),
            (ListingImage._meta.db_table, "listing_id"),
            (Favorite._meta.db_table, "listing_id"),
        ]:
            cursor.execute(f"DELETE FROM {model_table} WHERE {column} IN ({owned})", [pattern])
        cursor.execute(f"DELETE FROM {table} WHERE edit_of_id IN ({owned})", [pattern])
        cursor.execute(f"DELETE FROM {table} WHERE id IN ({owned})", [pattern])
        return cursor.rowcount


class Command(BaseCommand):
    help = "Bulk-insert synthetic published listings (for load tests; never on production data)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True, help="How many listings to insert.")
        parser.add_argument("--owners", type=int, default=None,
                            help="How many synthetic verified designers own them (default: count/200, 1 to 500).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed; the same seed gives the same rows.")
        parser.add_argument("--batch-size", type=int, default=BATCH)
        parser.add_argument("--clear", action="store_true",
                            help="First delete the listings of earlier runs (those of the synthetic accounts).")

    def handle(self, *args, count, owners, seed, batch_size, clear, **options):
        if count < 1:
            raise CommandError("--count must be at least 1.")
        owners = owners or max(1, min(500, count // 200))
        started = time.perf_counter()
        anchor = timezone.now().replace(minute=0, second=0, microsecond=0)
        if clear:
            self.stdout.write(f"Deleted {clear_synthetic()} synthetic listings of earlier runs.")
        categories = list(Category.objects.filter(is_active=True).order_by("position", "pk"))
        software = {item.slug: item for item in CadSoftware.objects.filter(is_active=True)}
        if not categories or not software:
            raise CommandError("No active categories or CAD software: run the migrations first.")
        with transaction.atomic():
            owner_ids = synthetic_owners(owners, anchor=anchor)
        generator = Generator(seed, categories, software)
        owner_rng = random.Random(seed + 1)
        through = Listing.software.through
        recipients = Listing.recipients.through
        sql = search_vector_sql()
        done = 0
        while done < count:
            size = min(batch_size, count - done)
            rows = [
                generator.listing(owner_id=owner_rng.choice(owner_ids), anchor=anchor) for _ in range(size)
            ]
            # about 1 in 100 is a private offer to another designer
            private = {} if len(owner_ids) < 2 else {
                index: owner_rng.choice([pk for pk in owner_rng.sample(owner_ids, 2) if pk != rows[index][0].owner_id])
                for index in range(size) if owner_rng.random() < 0.01
            }
            for index in private:
                rows[index][0].is_private = True
            with transaction.atomic():
                listings = Listing.objects.bulk_create([listing for listing, _ in rows], batch_size=1000)
                through.objects.bulk_create(
                    [through(listing_id=listing.pk, cadsoftware_id=item.pk)
                     for listing, (_, chosen) in zip(listings, rows, strict=True) for item in chosen],
                    batch_size=5000,
                )
                recipients.objects.bulk_create(
                    [recipients(listing_id=listings[index].pk, user_id=user_id) for index, user_id in private.items()]
                )
                with connection.cursor() as cursor:
                    cursor.execute(sql, {"config": SEARCH_CONFIG, "ids": [listing.pk for listing in listings]})
            done += size
            self.stdout.write(f"  {done}/{count} listings ({time.perf_counter() - started:.1f} s)")
        self._analyze()
        browse_cache.bump()  # bulk inserts send no signals
        published = Listing.objects.filter(status=Listing.Status.PUBLISHED, edit_of__isnull=True).count()
        self.stdout.write(self.style.SUCCESS(
            f"Inserted {count} listings for {len(owner_ids)} synthetic designers in "
            f"{time.perf_counter() - started:.1f} s; {published} published listings in all."
        ))

    def _analyze(self) -> None:
        """Fresh planner statistics; VACUUM as well (the search UPDATE leaves a dead row per
        insert) unless we run inside a transaction (tests), where VACUUM is not allowed."""
        tables = [Listing._meta.db_table, Listing.software.through._meta.db_table,
                  Listing.recipients.through._meta.db_table, User._meta.db_table, Profile._meta.db_table]
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            cursor.execute(f"{command} {', '.join(tables)}")

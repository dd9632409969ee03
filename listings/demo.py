"""Demo listings for `make run` (called from cadcam/management/commands/seed_demo.py).

They go through the same services people use: create (with pictures), submit (the automatic
checks run), and approval by the demo staff member. Running the seed again leaves existing
demo listings alone (matched by owner and title).

Their pictures are drawn by listings/demo_pictures.py."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts.models import User
from listings.demo_pictures import demo_listing_images
from listings.models import CadSoftware, Category, Listing
from listings.services import OptionData, listing_approve, listing_create, listing_submit

# --- the listings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoListing:
    owner: str  # username of a demo user
    title: str
    category: str  # Category slug
    software: tuple[str, ...]  # CadSoftware slugs
    description: str
    price_cents: int
    turnaround_days: int
    revisions_included: int
    unit_name: str = ""  # set: priced per unit
    options: tuple[OptionData, ...] = ()
    private_for: tuple[str, ...] = ()  # usernames; set: a private listing offered only to them
    scene: str = "crowns"  # which picture to draw, see SCENES
    caption: str = ""  # material or technique, shown in the picture's caption strip


EXPRESS = OptionData("Express 24 h", 1500)

DEMO_LISTINGS = [
    DemoListing(
        owner="freelancer",
        title="Zirconia crowns and bridges designed in exocad, ready to mill",
        category="crowns-bridges",
        software=("exocad-dentalcad", "3shape-dental-system"),
        description=(
            "Full-contour and cut-back zirconia crowns and bridges for posterior and anterior cases. "
            "I design from your intraoral or model scans with natural anatomy, checked contacts and "
            "occlusion against the antagonist, and a minimum wall thickness that suits the zirconia you mill.\n\n"
            "Send the scans with the preparation, antagonist and bite, plus the shade and the material. "
            "You receive the STL files ready for your CAM software and the exocad project, so your team "
            "can adjust anything in house."
        ),
        price_cents=1800, unit_name="tooth", turnaround_days=2, revisions_included=2,
        options=(EXPRESS, OptionData("Cut-back for layering", 500)),
        scene="crowns", caption="Monolithic zirconia",
    ),
    DemoListing(
        owner="freelancer",
        title="Lithium disilicate veneers, inlays and onlays for press or milling",
        category="inlays-onlays-veneers",
        software=("exocad-dentalcad",),
        description=(
            "Minimally invasive restorations in lithium disilicate (e.max) or hybrid ceramic: veneers, "
            "inlays, onlays and table tops. Margins are traced under high magnification and the emergence "
            "is kept thin and smooth, so the restoration seats without adjustment.\n\n"
            "Tell me whether you press or mill, and the minimum thickness your material needs. Anterior "
            "cases can follow an approved wax-up or smile design."
        ),
        price_cents=2200, unit_name="tooth", turnaround_days=3, revisions_included=2,
        options=(EXPRESS,),
        scene="veneers", caption="Lithium disilicate",
    ),
    DemoListing(
        owner="freelancer",
        title="Digital smile design with wax-up and printable mock-up",
        category="smile-design",
        software=("exocad-dentalcad", "blender-for-dental"),
        description=(
            "A complete smile design from your patient's photos and scans: tooth proportions, midline, "
            "incisal plane and gingival zeniths planned on the face, then turned into a digital wax-up.\n\n"
            "You receive a presentation of the proposal with before and after views, the wax-up as STL, and "
            "a printable mock-up model for the try-in chairside. One smile variant is included; more are "
            "available as an add-on."
        ),
        price_cents=9500, turnaround_days=4, revisions_included=3,
        options=(OptionData("Extra smile variant", 2500), OptionData("Transfer key for the mock-up", 1200)),
        scene="smile", caption="Wax-up and mock-up",
    ),
    DemoListing(
        owner="marco-designs",
        title="Custom abutments and screw-retained crowns on Ti-base",
        category="implant-abutments-screw-retained-crowns",
        software=("exocad-dentalcad", "3shape-dental-system"),
        description=(
            "Custom titanium or zirconia abutments and screw-retained crowns on Ti-base for all major "
            "implant systems. The emergence profile follows the soft tissue scan, the screw channel exits "
            "where you want it, and the crown is designed together with the abutment for a clean cement "
            "line.\n\n"
            "Send the scan body scan, the implant system and platform, the antagonist and the shade."
        ),
        price_cents=3500, unit_name="unit", turnaround_days=3, revisions_included=2,
        options=(EXPRESS, OptionData("Angled screw channel", 800)),
        scene="abutment", caption="Titanium and zirconia",
    ),
    DemoListing(
        owner="marco-designs",
        title="All-on-4 and All-on-6 titanium bars and hybrid bridges",
        category="all-on-x-hybrid-bars",
        software=("exocad-dentalcad",),
        description=(
            "Full-arch implant restorations: milled titanium or cobalt-chrome bars, hybrid bridges with "
            "wrap-around acrylic, and full-zirconia bridges. Passive fit, screw access through the cingulum "
            "or occlusal fossae, and cleanable intaglio surfaces.\n\n"
            "Send the scan bodies, the approved tooth setup or try-in scan, and the bite. A printable "
            "prototype for the try-in is available as an add-on."
        ),
        price_cents=18000, unit_name="arch", turnaround_days=5, revisions_included=3,
        options=(OptionData("Printed try-in prototype", 2000), OptionData("Full-zirconia top structure", 6000)),
        scene="bar", caption="Milled titanium bar",
    ),
    DemoListing(
        owner="aiko-cad",
        title="Digital full dentures with printable try-in",
        category="full-dentures",
        software=("3shape-dental-system", "exocad-dentalcad"),
        description=(
            "Complete upper and lower dentures designed from edentulous scans or from the patient's existing "
            "dentures. Tooth setup following the occlusal plane and the midline, balanced occlusion, and a "
            "base ready for printing or milling.\n\n"
            "Send both arches, the bite registration with the vertical dimension marked, and the tooth "
            "library you use. Immediate and copy dentures are welcome too."
        ),
        price_cents=6500, unit_name="arch", turnaround_days=4, revisions_included=2,
        options=(OptionData("Monoblock try-in", 1500), OptionData("Copy denture from a scan", 2000)),
        scene="denture", caption="Printed denture base",
    ),
    DemoListing(
        owner="aiko-cad",
        title="Night guards and occlusal splints, hard or hard-soft",
        category="night-guards-splints",
        software=("exocad-dentalcad", "3shape-dental-system"),
        description=(
            "Night guards, Michigan splints, anterior deprogrammers and sports guards designed on your scans. "
            "Even contacts in centric, guidance on the canines, and a thickness that suits the printed or "
            "milled resin you use.\n\n"
            "Send both arches and the bite taken at the opening you want. Tell me the splint type and "
            "whether it covers the upper or the lower arch."
        ),
        price_cents=2500, unit_name="arch", turnaround_days=2, revisions_included=2,
        options=(OptionData("Express 24 h", 1000),),
        scene="splint", caption="Clear printed resin",
    ),
    DemoListing(
        owner="aiko-cad",
        title="Implant surgical guides planned in coDiagnostiX or Blue Sky Plan",
        category="surgical-guides",
        software=("codiagnostix", "blue-sky-plan"),
        description=(
            "Tooth-supported, mucosa-supported and bone-supported surgical guides planned from the CBCT and "
            "the intraoral scan. Implant positions follow the prosthetic plan, with safe distances to nerves, "
            "sinus and neighbouring roots, and sleeves for your guided surgery kit.\n\n"
            "Send the CBCT as DICOM, the scan of the arch, the implant system and the kit. You receive the "
            "planning report for the surgeon and the guide ready to print."
        ),
        price_cents=8500, turnaround_days=3, revisions_included=1,
        options=(OptionData("Express 24 h", 2500), OptionData("Bone reduction guide", 4000)),
        scene="guide", caption="Fully guided template",
    ),
    DemoListing(
        owner="freelancer",
        title="Posterior zirconia crowns at a lab rate, next-day delivery",
        category="crowns-bridges",
        software=("exocad-dentalcad",),
        description=(
            "A standing offer for your lab: single posterior zirconia crowns designed the same way as our "
            "usual cases, at a reduced rate for a steady weekly volume, delivered the next working day.\n\n"
            "Upload the cases as usual with the shade and the material. Bridges and anterior work stay at the "
            "public price; send them with the same order and I will quote them separately."
        ),
        price_cents=1400, unit_name="tooth", turnaround_days=1, revisions_included=2,
        private_for=("employer",),
        scene="crowns", caption="Posterior zirconia",
    ),
]


def seed_listings(users: dict[str, User]) -> None:
    """Create the demo listings that do not exist yet, published through review."""
    staff = users["staff"]
    for spec in DEMO_LISTINGS:
        owner = users[spec.owner]
        if Listing.objects.filter(owner=owner, title=spec.title, edit_of__isnull=True).exists():
            continue
        _create_published(spec, owner=owner, staff=staff, users=users)


@transaction.atomic
def _create_published(spec: DemoListing, *, owner: User, staff: User, users: dict[str, User]) -> Listing:
    category = Category.objects.get(slug=spec.category)
    software = list(CadSoftware.objects.filter(slug__in=spec.software))
    data = {
        "title": spec.title,
        "category": category,
        "description": spec.description,
        "revisions_included": spec.revisions_included,
        "price_cents": spec.price_cents,
        "is_per_unit": bool(spec.unit_name),
        "unit_name": spec.unit_name,
        "turnaround_days": spec.turnaround_days,
        "is_private": bool(spec.private_for),
    }
    listing = listing_create(
        owner=owner, data=data, software=software, options=list(spec.options),
        recipients=[users[name] for name in spec.private_for],
        images=demo_listing_images(spec.scene, category=category.name, caption=spec.caption),
    )
    listing = listing_submit(listing=listing, by=owner)
    return listing_approve(listing=listing, by=staff)

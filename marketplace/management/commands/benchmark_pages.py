"""Time a busy designer's public profile, dashboard and order page, measured from outside.

    python -m cadcam.embedded -- python manage.py benchmark_pages [--requests 200] [--warmup 20]

Makes (once; later runs reuse it) a synthetic designer, bench-designer@example.invalid, with
--listings published listings (one cover image row each), --orders orders received from
--clients synthetic clients (bench-client-<n>@example.invalid) in every state, each with its
timeline, the clients' reviews of the completed ones and the designer's ratings; one order
carries a long timeline (revisions back and forth) and a conversation, and is the order page
measured. Rows are bulk-inserted with the values the services would leave (amounts that add up,
fees from payments.fees, events for each step), skipping e-mails and the gateway: benchmark data,
never on production data.

Then it starts gunicorn as production does (DJANGO_DEBUG=false, gunicorn.conf.py, one worker and
one thread: the requests come one after another) and asks /healthz and each page `--requests`
times after `--warmup` untimed requests, signed in as the designer through a session made for
the run. It prints p50 and p95 in milliseconds, p50 as a multiple of /healthz's in the same run,
the worker's CPU time per request (user + system: what other load on the machine inflates
least), the page's size in KB and the queries it runs (counted in this process with the test client),
and the load average before and after. The home page is there for reference: what any signed-in
page costs through the whole middleware stack (session, user, navigation badge)."""

from __future__ import annotations

import importlib
import math
import random
import time
from datetime import timedelta

import psutil
import requests
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile, User
from listings.management.commands.seed_listings import Generator, search_vector_sql
from listings.models import CadSoftware, Category, Listing, ListingImage
from listings.selectors import SEARCH_CONFIG
from marketplace.benchmarking import gunicorn, load_average, worker_processes
from messaging.models import Conversation
from messaging.services import conversation_for_order, message_send
from orders.models import Order, OrderEvent
from payments.fees import platform_fee_cents
from reviews.models import Review, Role
from reviews.services import ratings_recompute

DOMAIN = "@example.invalid"
DESIGNER_EMAIL = "bench-designer" + DOMAIN
CLIENT_EMAIL = "bench-client-{}" + DOMAIN
S = Order.Status
# The orders' states, as a busy designer's history looks: mostly completed.
STATE_WEIGHTS = {S.COMPLETED: 70, S.ACCEPTED: 6, S.DELIVERED: 5, S.REQUESTED: 4, S.DECLINED: 5, S.EXPIRED: 5,
                 S.WITHDRAWN: 3, S.REFUNDED: 2}
# The steps each state went through, after "Case sent" by the client: (to, who acts: "client", "designer", None).
STEPS = {
    S.REQUESTED: [(S.REQUESTED, "client")],
    S.ACCEPTED: [(S.REQUESTED, "client"), (S.ACCEPTED, "designer")],
    S.DELIVERED: [(S.REQUESTED, "client"), (S.ACCEPTED, "designer"), (S.DELIVERED, "designer")],
    S.COMPLETED: [(S.REQUESTED, "client"), (S.ACCEPTED, "designer"), (S.DELIVERED, "designer"),
                  (S.COMPLETED, "client")],
    S.DECLINED: [(S.REQUESTED, "client"), (S.DECLINED, "designer")],
    S.EXPIRED: [(S.REQUESTED, "client"), (S.EXPIRED, None)],
    S.WITHDRAWN: [(S.REQUESTED, "client"), (S.WITHDRAWN, "client")],
    S.REFUNDED: [(S.REQUESTED, "client"), (S.ACCEPTED, "designer"), (S.DELIVERED, "designer"),
                 (S.DISPUTED, "client"), (S.REFUNDED, None)],
}
LONG_TIMELINE_ROUNDS = 12  # revision rounds on the order whose page is measured
COMMENTS = (
    "Precise margins and natural anatomy, the crowns fitted without adjustment.",
    "Fast delivery and clean files, exactly what our milling centre needs.",
    "Good design, one small contact needed a revision which came the same day.",
    "Reliable as always. The native project file made our final checks easy.",
    "Very careful work on a difficult implant case, thank you.",
)


def percentile(sorted_values: list[float], percent: float) -> float:
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _user(email: str, username: str, name: str, *, anchor) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        first, last = name.split(" ", 1)
        user = User.objects.create(email=email, username=username, first_name=first, last_name=last,
                                   password=make_password(None), date_joined=anchor - timedelta(days=800))
    Profile.objects.get_or_create(user=user, defaults={
        "display_name": name, "about": f"{name}: a synthetic account for benchmarks.", "languages": ["en", "de"],
        "country": "DE", "training": "Dental technician, CAD/CAM certificate.", "terms_version": "synthetic",
        "terms_accepted_at": anchor - timedelta(days=800), "verified_at": anchor - timedelta(days=700),
    })
    return user


class Dataset:
    """The synthetic designer and everything around them; each step adds only what is missing."""

    def __init__(self, *, listings: int, orders: int, clients: int, seed: int):
        self.anchor = timezone.now().replace(minute=0, second=0, microsecond=0)
        self.rng = random.Random(seed)
        self.seed = seed
        self.designer = _user(DESIGNER_EMAIL, "bench-designer", "Bench Designer", anchor=self.anchor)
        self.clients = [_user(CLIENT_EMAIL.format(n), f"bench-client-{n}", f"Client Lab{n}", anchor=self.anchor)
                        for n in range(1, clients + 1)]
        self.listings_wanted, self.orders_wanted = listings, orders

    def build(self) -> None:
        with transaction.atomic():
            self._listings()
        with transaction.atomic():
            self._orders()
        with transaction.atomic():
            self._reviews()
        self._long_order()

    def _listings(self) -> None:
        live = Listing.objects.filter(owner=self.designer, status=Listing.Status.PUBLISHED, edit_of__isnull=True)
        missing = self.listings_wanted - live.count()
        if missing <= 0:
            return
        categories = list(Category.objects.filter(is_active=True).order_by("position", "pk"))
        software = {item.slug: item for item in CadSoftware.objects.filter(is_active=True)}
        if not categories or not software:
            raise CommandError("No active categories or CAD software: run the migrations first.")
        generator = Generator(self.seed, categories, software)
        rows = [generator.listing(owner_id=self.designer.pk, anchor=self.anchor) for _ in range(missing)]
        for listing, _ in rows:
            listing.expires_on = None  # never past its date during a run
        made = Listing.objects.bulk_create([listing for listing, _ in rows])
        through = Listing.software.through
        through.objects.bulk_create([through(listing_id=listing.pk, cadsoftware_id=item.pk)
                                     for listing, (_, chosen) in zip(made, rows, strict=True) for item in chosen])
        ListingImage.objects.bulk_create([
            ListingImage(listing=listing, image=f"listings/{listing.pk}/cover.jpg",
                         thumbnail=f"listings/{listing.pk}/cover-thumb.jpg", width=1600, height=1200)
            for listing in made
        ])
        with connection.cursor() as cursor:
            cursor.execute(search_vector_sql(), {"config": SEARCH_CONFIG, "ids": [listing.pk for listing in made]})

    def _orders(self) -> None:
        missing = self.orders_wanted - Order.objects.filter(freelancer=self.designer).count()
        if missing <= 0:
            return
        listings = list(Listing.objects.filter(owner=self.designer, status=Listing.Status.PUBLISHED,
                                               edit_of__isnull=True).order_by("pk"))
        states, weights = list(STATE_WEIGHTS), list(STATE_WEIGHTS.values())
        orders, plans = [], []
        for _ in range(missing):
            listing, client = self.rng.choice(listings), self.rng.choice(self.clients)
            status = self.rng.choices(states, weights)[0]
            quantity = self.rng.choice((1, 1, 1, 2, 3, 4)) if listing.is_per_unit else 1
            total = listing.price_cents * quantity
            fee = platform_fee_cents(total)
            sent = self.anchor - timedelta(days=self.rng.uniform(1, 365))
            step_times = [sent + timedelta(hours=6 * (n + 1)) for n in range(len(STEPS[status]))]
            order = Order(
                employer=client, freelancer=self.designer, listing=listing, status=status, title=listing.title,
                unit_price_cents=listing.price_cents, unit_name=listing.unit_name, quantity=quantity,
                total_cents=total, fee_cents=fee, net_cents=total - fee, revisions_included=listing.revisions_included,
                turnaround_days=listing.turnaround_days, instructions="Scans attached; shade A2.",
                payment_id=f"bench_pi_{self.rng.getrandbits(48):x}", authorized_at=step_times[0],
            )
            reached = dict(zip([to for to, _ in STEPS[status]], step_times, strict=True))
            if S.ACCEPTED in reached:
                order.accepted_at = reached[S.ACCEPTED]
                order.auto_complete_at = reached[S.ACCEPTED] + timedelta(days=30)
            if status == S.REQUESTED:
                order.accept_by = step_times[0] + timedelta(days=3)
            if status == S.COMPLETED:
                order.completed_at = reached[S.COMPLETED]
                order.owed_cents = order.net_cents
                order.payout_due_at = order.completed_at + timedelta(days=7)
            if status == S.REFUNDED:
                order.refunded_at = reached[S.REFUNDED]
            orders.append(order)
            plans.append((sent, status, step_times))
        made = Order.objects.bulk_create(orders, batch_size=1000)
        for order, (sent, _, _) in zip(made, plans, strict=True):
            order.created_at = sent  # auto_now_add set "now" on insert
        Order.objects.bulk_update(made, ["created_at"], batch_size=1000)
        events, times = [], []
        for order, (sent, status, step_times) in zip(made, plans, strict=True):
            previous = ""
            for (to, who), moment in [((S.PENDING_PAYMENT, "client"), sent),
                                      *zip(STEPS[status], step_times, strict=True)]:
                actor = {"client": order.employer, "designer": self.designer, None: None}[who]
                events.append(OrderEvent(order=order, actor=actor, from_status=previous, to_status=to))
                times.append(moment)
                previous = to
        self._insert_with_times(OrderEvent, events, times)

    @staticmethod
    def _insert_with_times(model, rows: list, times: list) -> list:
        made = model.objects.bulk_create(rows, batch_size=2000)
        for row, moment in zip(made, times, strict=True):
            row.created_at = moment
        model.objects.bulk_update(made, ["created_at"], batch_size=2000)
        return made

    def _reviews(self) -> None:
        completed = Order.objects.filter(freelancer=self.designer, status=S.COMPLETED,
                                         reviews__isnull=True).order_by("pk")
        rows, times = [], []
        for order in completed:
            if order.pk % 7 == 0:  # not every client reviews (by id, so a later run adds none)
                continue
            moment = order.completed_at + timedelta(days=self.rng.uniform(0.5, 10))
            review = Review(order=order, author_id=order.employer_id, subject=self.designer,
                            subject_role=Role.FREELANCER, rating=self.rng.choice((5, 5, 5, 4, 4, 3)),
                            comment=self.rng.choice(COMMENTS), visible_at=moment)
            if self.rng.random() < 0.3:
                review.reply, review.replied_at = "Thank you, happy to work on your next case!", moment
            rows.append(review)
            times.append(moment)
        if not rows:
            return
        self._insert_with_times(Review, rows, times)
        ratings_recompute(listing_ids={review.order.listing_id for review in rows},
                          people=[(self.designer.pk, Role.FREELANCER)])

    def _long_order(self) -> None:
        """An accepted order with many revision rounds in its timeline and a short conversation."""
        order = Order.objects.filter(freelancer=self.designer, status=S.ACCEPTED).order_by("pk").first()
        if order is None:
            raise CommandError("No accepted order among the synthetic ones: use more --orders.")
        if order.events.count() < 2 * LONG_TIMELINE_ROUNDS:
            with transaction.atomic():
                events, times, moment = [], [], order.accepted_at
                for _ in range(LONG_TIMELINE_ROUNDS):
                    for from_status, to, actor in ((S.ACCEPTED, S.DELIVERED, self.designer),
                                                   (S.DELIVERED, S.ACCEPTED, order.employer)):
                        moment += timedelta(hours=5)
                        events.append(OrderEvent(order=order, actor=actor, from_status=from_status, to_status=to,
                                                 note="Please open the contact on 46 a little."
                                                 if to == S.ACCEPTED else ""))
                        times.append(moment)
                self._insert_with_times(OrderEvent, events, times)
        if not Conversation.objects.filter(key=f"order:{order.pk}", messages__isnull=False).exists():
            conversation = conversation_for_order(order=order)
            for n in range(6):
                sender = order.employer if n % 2 == 0 else self.designer
                message_send(conversation=conversation, sender=sender, body=f"Message {n + 1} about the case.")
            conversation.participants.update(last_read_id=conversation.messages.order_by("-pk").first().pk)
        self.order = order


def session_cookie(user: User) -> str:
    """A signed-in session for `user`, stored where the server reads sessions."""
    store = importlib.import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


class Command(BaseCommand):
    help = "p50/p95, size and queries of a busy designer's public profile, dashboard and order page, via gunicorn."

    def add_arguments(self, parser):
        parser.add_argument("--requests", dest="count", type=int, default=200, help="timed requests per page")
        parser.add_argument("--warmup", type=int, default=20, help="untimed requests per page first")
        parser.add_argument("--listings", type=int, default=195)
        parser.add_argument("--orders", type=int, default=365)
        parser.add_argument("--clients", type=int, default=40)
        parser.add_argument("--seed", type=int, default=17)

    def handle(self, *args, count: int, warmup: int, listings: int, orders: int, clients: int, seed: int,
               **options):
        if count < 1:
            raise CommandError("--requests must be at least 1.")
        started = time.perf_counter()
        data = Dataset(listings=listings, orders=orders, clients=clients, seed=seed)
        data.build()
        designer, order = data.designer, data.order
        self.stdout.write(
            f"Designer {designer.username}: {Listing.objects.filter(owner=designer, edit_of__isnull=True).count()} "
            f"listings, {Order.objects.filter(freelancer=designer).count()} orders received, "
            f"{Review.objects.filter(subject=designer).count()} reviews; order #{order.pk} has "
            f"{order.events.count()} timeline events (data ready in {time.perf_counter() - started:.1f} s)."
        )
        pages = {
            "/healthz": "/healthz",  # no middleware, no database: the server's floor
            "home": reverse("home"),  # the whole stack, signed in, a one-query page
            "profile": reverse("public_profile", args=[designer.username]),
            "dashboard": reverse("dashboard"),
            "order": reverse("orders:detail", args=[order.pk]),
        }
        queries = self._query_counts(designer, pages)
        cookie = session_cookie(designer)
        self.stdout.write(f"{count} timed requests per page after {warmup} warm-up, one gunicorn worker, "
                          f"one thread. Load average before: {load_average()}")
        results = {}
        with gunicorn() as (base, master):
            worker = worker_processes(master)[0]
            session = requests_session(cookie)
            for label, path in pages.items():
                results[label] = self._time(session, base + path, count=count, warmup=warmup, worker=worker)
        healthz = percentile(results["/healthz"][0], 50)
        self.stdout.write(f"{'page':10} {'p50 ms':>8} {'p95 ms':>8} {'p50/healthz':>12} {'worker CPU ms':>14} "
                          f"{'KB':>8} {'queries':>8}")
        for label, (timings, size, cpu) in results.items():
            p50, p95 = percentile(timings, 50), percentile(timings, 95)
            self.stdout.write(f"{label:10} {p50:>8.1f} {p95:>8.1f} {p50 / healthz:>12.1f} {cpu:>14.1f} "
                              f"{size / 1024:>8.1f} {queries.get(label, 0):>8}")
        self.stdout.write(f"Load average after: {load_average()}")

    def _time(self, session: requests.Session, url: str, *, count: int, warmup: int,
              worker: psutil.Process) -> tuple[list[float], int, float]:
        """(sorted milliseconds, bytes, the worker's CPU milliseconds per request: user + system,
        which other load on the machine does not inflate the way it does wall time)."""
        size = 0
        for _ in range(warmup):
            self._get(session, url)
        timings = []
        cpu_before = sum(worker.cpu_times()[:2])
        for _ in range(count):
            began = time.perf_counter()
            size = len(self._get(session, url))
            timings.append((time.perf_counter() - began) * 1000)
        cpu = (sum(worker.cpu_times()[:2]) - cpu_before) * 1000 / count
        return sorted(timings), size, cpu

    @staticmethod
    def _get(session: requests.Session, url: str) -> bytes:
        response = session.get(url, timeout=30, allow_redirects=False)
        if response.status_code != 200:
            raise CommandError(f"GET {url} answered {response.status_code}.")
        return response.content

    @staticmethod
    def _query_counts(designer: User, pages: dict[str, str]) -> dict[str, int]:
        """Queries each page runs, counted in this process (the test client, signed in)."""
        client = Client()
        client.force_login(designer)
        counts = {}
        with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            for label, path in pages.items():
                client.get(path)  # the first view may set things up (sessions, a conversation)
                with CaptureQueriesContext(connection) as captured:
                    if client.get(path).status_code != 200:
                        raise CommandError(f"GET {path} did not answer 200 in this process.")
                counts[label] = len(captured)
        return counts


def requests_session(cookie: str) -> requests.Session:
    session = requests.Session()
    session.headers.update({"X-Forwarded-Proto": "https", "Cookie": cookie})
    return session

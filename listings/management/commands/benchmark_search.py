"""Time the browse and search page against the current database.

    python manage.py benchmark_search [--queries 200] [--warmup 20] [--selector-only] [--explain 5]

A fixed list of queries (seeded random: the same list every run) mixes free text (whole words,
prefixes as people type them, several words), category and software filters, price ranges,
turnaround, verified sellers only, the four sorts, and a few later pages. Each is timed as the
server sees it: a full anonymous GET of /listings/?<params> through Django's test client
(middleware, view, queries, template), measured with time.perf_counter around client.get.
--selector-only times listings_browse_page() instead: the capped count, the page ids and their cards,
which is what the page needs from the database."""

from __future__ import annotations

import math
import os
import random
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from listings.models import CadSoftware, Category, Listing
from listings.selectors import BrowseFilters, listings_browse_page

PAGE_SIZE = 24

WORDS = ("zirconia", "crowns", "bridge", "veneers", "titanium", "abutment", "denture", "implant", "splint",
         "onlays", "guide", "aligner", "PMMA", "e.max", "temporaries", "exocad", "printed")
PREFIXES = ("zirc", "cro", "all-on", "lith", "tita", "abut", "ven", "spl", "gui", "dent", "pmm", "exo", "3sha", "bri",
            "scr", "hyb", "co", "im", "night", "sur")
PHRASES = ("zirconia crown", "screw retained crown", "all on 4 bar", "lithium disilicate veneers",
           "hard soft night guard", "implant guide codiagnostix", "full arch titanium bar exocad", "e.max inlay",
           "PMMA temporary bridge", "digital denture try-in", "zirc bri exo", "cobalt chrome framework",
           "surgical guide blue sky", "custom abutment ti-base", "maryland bridge", "michigan splint",
           "prettau bridge", "dolder bar", "telescopic crowns gold", "crown 3shape fast")
SORTS = ("relevance", "newest", "price_asc", "price_desc")


@dataclass
class Query:
    """One browse request: the GET parameters and the same thing as BrowseFilters."""

    q: str = ""
    category: Category | None = None
    software: list[CadSoftware] = field(default_factory=list)
    price_min: int | None = None  # dollars, as typed in the form
    price_max: int | None = None
    turnaround: int | None = None
    verified: bool = False
    sort: str = ""
    page: int = 1

    def params(self) -> list[tuple[str, str]]:
        params = []
        if self.q:
            params.append(("q", self.q))
        if self.category:
            params.append(("category", self.category.slug))
        params += [("software", item.slug) for item in self.software]
        if self.price_min is not None:
            params.append(("price_min", str(self.price_min)))
        if self.price_max is not None:
            params.append(("price_max", str(self.price_max)))
        if self.turnaround:
            params.append(("turnaround", str(self.turnaround)))
        if self.verified:
            params.append(("verified", "on"))
        if self.sort:
            params.append(("sort", self.sort))
        if self.page > 1:
            params.append(("page", str(self.page)))
        return params

    def query_string(self) -> str:
        return urlencode(self.params())

    def filters(self) -> BrowseFilters:
        return BrowseFilters(
            q=self.q, category=self.category, software=tuple(self.software),
            price_min_cents=None if self.price_min is None else self.price_min * 100,
            price_max_cents=None if self.price_max is None else self.price_max * 100,
            max_turnaround=self.turnaround, verified_only=self.verified, sort=self.sort or "relevance",
        )


def build_queries(count: int, *, seed: int = 2024) -> list[Query]:
    """The fixed query mix. Categories and software are looked up by slug, so the list is the
    same in every database that has the reference data of the migrations."""
    rng = random.Random(seed)
    categories = list(Category.objects.filter(is_active=True).order_by("slug"))
    software = list(CadSoftware.objects.filter(is_active=True).order_by("slug"))
    queries = []
    for _ in range(count):
        query = Query()
        kind = rng.random()
        if kind < 0.55:  # free text, sometimes with filters
            text_kind = rng.random()
            if text_kind < 0.3:
                query.q = rng.choice(WORDS)
            elif text_kind < 0.65:
                query.q = rng.choice(PREFIXES)
            else:
                query.q = rng.choice(PHRASES)
            filtered = rng.random() < 0.4
        else:  # browsing with filters only
            filtered = kind < 0.9  # the rest: the plain list in some order, maybe a later page
        if filtered:
            if categories and rng.random() < 0.5:
                query.category = rng.choice(categories)
            if software and rng.random() < 0.3:
                query.software = rng.sample(software, rng.choice((1, 1, 2)))
            if rng.random() < 0.3:
                low = rng.choice((None, 10, 20, 30, 50))
                high = rng.choice((None, 40, 60, 100, 250))
                if low is None and high is None:
                    high = 60
                if low is not None and high is not None and high < low:
                    low, high = high, low
                query.price_min, query.price_max = low, high
            if rng.random() < 0.25:
                query.turnaround = rng.choice((1, 2, 3, 5, 7))
            if rng.random() < 0.2:
                query.verified = True
        if query.q:
            query.sort = rng.choices(SORTS, (60, 15, 15, 10))[0]
        else:
            query.sort = rng.choices(("", *SORTS), (20, 10, 30, 25, 15))[0]
        if rng.random() < 0.1:
            query.page = rng.randint(2, 5)
        queries.append(query)
    return queries


def percentile(sorted_values: list[float], percent: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def run_selector(query: Query) -> None:
    listings_browse_page(viewer=AnonymousUser(), filters=query.filters(), number=query.page, per_page=PAGE_SIZE)


def get_page(client: Client, path: str, params: list[tuple[str, str]]) -> None:
    response = client.get(path, params)
    if response.status_code != 200:
        raise CommandError(f"GET {path}?{urlencode(params)} answered {response.status_code}.")


def time_each(items: list, *, warmup: int, request) -> list[tuple[float, object]]:
    """`request(item)` for `warmup` items untimed (from the same list), then for each item
    timed: [(milliseconds, item), ...]. The test client is allowed on any configured host."""
    def timed(item) -> float:
        started = time.perf_counter()
        request(item)
        return (time.perf_counter() - started) * 1000

    with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
        for index in range(warmup):
            request(items[index % len(items)])
        return [(timed(item), item) for item in items]


def write_summary(out, *, title: str, data: str, timings: list[tuple[float, object]], warmup: int, describe) -> list:
    """Print the figures the benchmarks report; returns the timings slowest first."""
    values = sorted(ms for ms, _ in timings)
    out.write(f"Benchmark: {title}")
    out.write(data)
    out.write(f"Queries: {len(values)} timed after {warmup} warm-up; "
              f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    out.write(f"p50 {percentile(values, 50):.1f} ms | p95 {percentile(values, 95):.1f} ms | "
              f"p99 {percentile(values, 99):.1f} ms | max {values[-1]:.1f} ms | "
              f"mean {sum(values) / len(values):.1f} ms")
    slowest = sorted(timings, key=lambda timing: timing[0], reverse=True)
    out.write("Slowest:")
    for ms, item in slowest[:5]:
        out.write(f"  {ms:8.1f} ms  ?{describe(item)}")
    return slowest


class Command(BaseCommand):
    help = "Time /listings/ with a fixed mix of searches and filters; prints p50, p95, p99 and the slowest."

    def add_arguments(self, parser):
        parser.add_argument("--queries", type=int, default=200)
        parser.add_argument("--warmup", type=int, default=20, help="Untimed requests first (from the same list).")
        parser.add_argument("--seed", type=int, default=2024, help="Seed of the query list.")
        parser.add_argument("--selector-only", action="store_true",
                            help="Time listings_browse_page() (what the page needs from the database) instead.")
        parser.add_argument("--explain", type=int, default=0, metavar="N",
                            help="Print EXPLAIN ANALYZE of the page query of the N slowest queries.")

    def handle(self, *args, queries, warmup, seed, selector_only, explain, **options):
        if queries < 1:
            raise CommandError("--queries must be at least 1.")
        if not selector_only:
            try:
                path = reverse("listings:browse")
            except NoReverseMatch:
                raise CommandError("The browse page (listings:browse) does not exist: use --selector-only.") from None
        query_list = build_queries(queries, seed=seed)
        published = Listing.objects.filter(status=Listing.Status.PUBLISHED, edit_of__isnull=True).count()
        client = Client()
        timings = time_each(query_list, warmup=warmup, request=run_selector if selector_only else (
            lambda query: get_page(client, path, query.params())))
        mode = "listings_browse_page()" if selector_only else f"GET {path} (anonymous, full page)"
        slowest = write_summary(self.stdout, title=mode, data=f"Published listings: {published}", timings=timings,
                                warmup=warmup, describe=lambda query: query.query_string())
        for _ms, query in slowest[:explain]:
            self._explain(query)

    def _explain(self, query: Query) -> None:
        """EXPLAIN ANALYZE of every SQL statement the selector runs for this query (count, page, images)."""
        with CaptureQueriesContext(connection) as captured:
            run_selector(query)
        self.stdout.write(f"\nEXPLAIN ANALYZE for ?{query.query_string()}")
        for executed in captured.captured_queries:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {executed['sql']}")
                plan = "\n".join(f"    {row[0]}" for row in cursor.fetchall())
            self.stdout.write(f"  {executed['sql'][:300]}\n{plan}\n")

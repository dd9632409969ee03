"""Time the browse page's rating filter and "Best rated" sort against the current database.

    python manage.py benchmark_ratings [--fill] [--queries 200] [--warmup 20] [--selector-only]

It complements `benchmark_search` (whose fixed mix has no rating parameters) with a fixed list
of requests that all use them: "Best rated" alone, with a category, with words, with filters
and later pages; "4 stars and up" / "4.5 stars and up" with the other sorts and filters.

--fill gives the synthetic listings of `seed_listings` (accounts synthetic-<n>@example.invalid)
ratings as the review services would leave them: about 30 % rated, 1-60 reviews, averages
from 2.50 to 5.00, seeded so every run makes the same figures. It writes only the listings'
denormalized columns (there are no synthetic reviews): a benchmark data set, not demo data."""

from __future__ import annotations

import random
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth.models import AnonymousUser
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from listings.forms import BrowseForm
from listings.management.commands.benchmark_search import (
    PAGE_SIZE,
    PHRASES,
    PREFIXES,
    WORDS,
    Query,
    get_page,
    time_each,
    write_summary,
)
from listings.models import CadSoftware, Category, Listing
from listings.selectors import listings_browse_page

SYNTHETIC = "@example.invalid"


def build_rating_queries(count: int, *, seed: int = 2025) -> list[tuple[Query, str]]:
    """(query, min_rating) pairs; every request sorts by rating or filters by it, or both."""
    rng = random.Random(seed)
    categories = list(Category.objects.filter(is_active=True).order_by("slug"))
    software = list(CadSoftware.objects.filter(is_active=True).order_by("slug"))
    queries = []
    for _ in range(count):
        query, minimum = Query(), ""
        kind = rng.random()
        if kind < 0.35:  # best rated, maybe with filters
            query.sort = "rating"
        elif kind < 0.7:  # minimum rating with another sort
            minimum = rng.choice(("4", "4.5", "3"))
            query.sort = rng.choice(("", "newest", "price_asc", "price_desc"))
        else:  # both
            minimum, query.sort = rng.choice(("4", "4.5")), "rating"
        if rng.random() < 0.35:
            query.q = rng.choice(WORDS + PREFIXES + PHRASES)
        if categories and rng.random() < 0.4:
            query.category = rng.choice(categories)
        if software and rng.random() < 0.2:
            query.software = [rng.choice(software)]
        if rng.random() < 0.2:
            query.price_max = rng.choice((40, 60, 100, 250))
        if rng.random() < 0.15:
            query.verified = True
        if rng.random() < 0.1:
            query.page = rng.randint(2, 5)
        queries.append((query, minimum))
    return queries


def fill_synthetic_ratings(*, seed: int = 7) -> int:
    rng = random.Random(seed)
    ids = list(
        Listing.objects.filter(owner__email__endswith=SYNTHETIC, edit_of__isnull=True).order_by("pk")
        .values_list("pk", flat=True)
    )
    rows = []
    for pk in ids:
        if rng.random() < 0.3:
            count = min(60, int(rng.expovariate(1 / 8)) + 1)
            average = Decimal(min(500, max(250, int(rng.gauss(440, 45))))) / 100
            rows.append((pk, count, average))
        else:
            rows.append((pk, 0, Decimal("0.00")))
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            batch = rows[start:start + 5000]
            cursor.execute(
                "UPDATE listings_listing AS l SET rating_count = v.count, rating_avg = v.average "
                "FROM (SELECT unnest(%s::int[]) AS id, unnest(%s::int[]) AS count, unnest(%s::numeric[]) AS average) v "
                "WHERE l.id = v.id",
                [[row[0] for row in batch], [row[1] for row in batch], [row[2] for row in batch]],
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE listings_listing")
    return sum(1 for row in rows if row[1])


class Command(BaseCommand):
    help = "Time /listings/ with the rating filter and the best-rated sort; prints p50, p95, p99 and the slowest."

    def add_arguments(self, parser):
        parser.add_argument("--fill", action="store_true", help="First give the synthetic listings ratings.")
        parser.add_argument("--queries", type=int, default=200)
        parser.add_argument("--warmup", type=int, default=20)
        parser.add_argument("--seed", type=int, default=2025)
        parser.add_argument("--selector-only", action="store_true")

    def handle(self, *args, fill, queries, warmup, seed, selector_only, **options):
        if queries < 1:
            raise CommandError("--queries must be at least 1.")
        if fill:
            self.stdout.write(f"Rated synthetic listings: {fill_synthetic_ratings()}")
        query_list = build_rating_queries(queries, seed=seed)
        path = reverse("listings:browse")
        rated = Listing.objects.filter(status=Listing.Status.PUBLISHED, edit_of__isnull=True, rating_count__gt=0)
        published = Listing.objects.filter(status=Listing.Status.PUBLISHED, edit_of__isnull=True).count()
        client = Client()

        def params_of(item) -> list[tuple[str, str]]:
            query, minimum = item
            return query.params() + ([("min_rating", minimum)] if minimum else [])

        def run(item) -> None:
            if selector_only:
                filters = BrowseForm(dict(params_of(item))).filters()
                listings_browse_page(viewer=AnonymousUser(), filters=filters, number=item[0].page, per_page=PAGE_SIZE)
            else:
                get_page(client, path, params_of(item))

        timings = time_each(query_list, warmup=warmup, request=run)
        write_summary(self.stdout, title=f"{'listings_browse_page()' if selector_only else 'GET ' + path} with ratings",
                      data=f"Published listings: {published}, rated: {rated.count()}", timings=timings,
                      warmup=warmup, describe=lambda item: urlencode(params_of(item)))

import re
from io import StringIO

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command

from accounts.models import User
from listings.demo import DEMO_LISTINGS
from listings.models import Listing, ListingImage, ListingOption
from listings.prechecks import MIN_IMAGE_SIZE, text_problems
from listings.selectors import BrowseFilters, listings_browse
from listings.services import listing_index

pytestmark = pytest.mark.django_db

SYNTHETIC = {"owner__email__endswith": "@example.invalid"}


def seed(count: int = 50) -> str:
    out = StringIO()
    call_command("seed_listings", "--count", str(count), stdout=out)
    return out.getvalue()


def test_seed_listings_inserts_published_listings_of_verified_owners():
    output = seed(50)

    listings = Listing.objects.filter(**SYNTHETIC)
    assert listings.count() == 50
    assert listings.filter(status=Listing.Status.PUBLISHED, edit_of__isnull=True, published_at__isnull=False,
                           search_vector__isnull=False).count() == 50
    assert all(listing.owner.profile.is_verified for listing in listings.select_related("owner__profile"))
    assert all(listing.software.exists() for listing in listings)
    assert all(listing.price_cents >= 700 for listing in listings)
    assert "Inserted 50 listings" in output
    for listing in listings:  # the generated text would pass the checks people's listings go through
        assert text_problems(title=listing.title, description=listing.description) == []


def test_seed_listings_is_reproducible_and_reuses_its_owners():
    seed(20)
    first = list(Listing.objects.filter(**SYNTHETIC).order_by("pk").values_list("title", "price_cents"))
    owners = User.objects.filter(email__endswith="@example.invalid").count()

    call_command("seed_listings", "--count", "20", "--clear", stdout=StringIO())

    again = list(Listing.objects.filter(**SYNTHETIC).order_by("pk").values_list("title", "price_cents"))
    assert again == first
    assert User.objects.filter(email__endswith="@example.invalid").count() == owners


def test_bulk_search_document_matches_listing_index():
    seed(10)

    for listing in Listing.objects.filter(**SYNTHETIC).select_related("category"):
        bulk = listing.search_vector
        listing_index(listing=listing)
        listing.refresh_from_db(fields=["search_vector"])
        assert listing.search_vector == bulk


def test_seeded_listings_are_found_by_a_prefix_search():
    seed(50)
    listing = Listing.objects.filter(**SYNTHETIC, is_private=False).order_by("pk").first()
    word = max(re.findall(r"[A-Za-z]{5,}", listing.title), key=len)
    prefix = word[:4].lower()

    found = listings_browse(viewer=AnonymousUser(), filters=BrowseFilters(q=prefix))

    assert listing in found
    assert all(prefix in f"{item.title} {item.category.name} {item.description}".lower() or
               any(prefix in name.lower() for name in item.software.values_list("name", flat=True))
               for item in found)


def test_benchmark_search_prints_percentiles():
    seed(50)
    published = Listing.objects.filter(status=Listing.Status.PUBLISHED, edit_of__isnull=True).count()

    for mode in ([], ["--selector-only"]):
        out = StringIO()
        call_command("benchmark_search", "--queries", "5", "--warmup", "1", *mode, stdout=out)
        output = out.getvalue()
        assert f"Published listings: {published}" in output
        assert re.search(r"p50 [\d.]+ ms \| p95 [\d.]+ ms \| p99 [\d.]+ ms \| max [\d.]+ ms", output)
        assert output.count(" ms  ?") == 5  # the five slowest, with their query strings


def demo_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Listing, ListingImage, ListingOption)}


def test_seed_demo_twice_gives_the_same_listings():
    call_command("seed_demo", stdout=StringIO())
    first = demo_counts()
    call_command("seed_demo", stdout=StringIO())

    assert demo_counts() == first
    assert first["Listing"] == len(DEMO_LISTINGS) >= 8
    listings = Listing.objects.select_related("category", "owner")
    assert all(listing.status == Listing.Status.PUBLISHED for listing in listings)
    assert len({listing.category_id for listing in listings}) >= 7
    assert {listing.owner.username for listing in listings} == {"freelancer", "marco-designs", "aiko-cad"}
    private = Listing.objects.filter(is_private=True)
    assert private.count() == 1
    assert list(private.get().recipients.values_list("username", flat=True)) == ["employer"]
    assert private.get().owner.username == "freelancer"
    for image in ListingImage.objects.all():
        assert image.width >= MIN_IMAGE_SIZE[0] and image.height >= MIN_IMAGE_SIZE[1]
    assert all(listing.images.count() >= 2 for listing in listings)

"""The browse cache under abuse: a query string that renders the same page must not store
another copy of it. Every stored page is ~40 KB in the Redis that is also Celery's broker;
an anonymous client looping over ?page=1, 01, 001, ... (or junk filter values) otherwise
writes a new entry per request for BROWSE_CACHE_SECONDS."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.tests.helpers import make_user
from listings.tests.helpers import make_published, make_verified_seller

pytestmark = pytest.mark.django_db

BROWSE = reverse("listings:browse")
# All of these show page 1 of a one-listing catalogue. They may be stored twice at most: as
# page 1, and as "past the last page" (-1, 999), which is page 1 here but not in general.
SAME_PAGE = ["1", "01", "001", "0001", "abc", "-1", "999", "1.0", "+1", "%201"]


def stored(kind: str) -> int:
    return sum(1 for _ in cache._cache.get_client().scan_iter(match=f"*listings:{kind}:*"))


@pytest.fixture
def listing():
    return make_published(owner=make_verified_seller(username="ceramist"), title="Zirconia crown design")


def test_page_numbers_written_differently_store_the_anonymous_page_once(client, listing):
    for number in SAME_PAGE:
        response = client.get(BROWSE, {"page": number})
        assert response.status_code == 200 and listing.title in response.text

    assert stored("page") <= 2


def test_filter_values_that_are_dropped_store_the_anonymous_page_once(client, listing):
    for junk in range(10):
        response = client.get(BROWSE, {"price_min": f"abc{junk}", "turnaround": f"x{junk}"})
        assert response.status_code == 200 and listing.title in response.text

    assert stored("page") == 1


def test_page_numbers_written_differently_store_the_shared_results_once(client, listing):
    client.force_login(make_user())
    for number in SAME_PAGE:
        assert listing.title in client.get(BROWSE, {"page": number}).text

    assert stored("results") <= 2

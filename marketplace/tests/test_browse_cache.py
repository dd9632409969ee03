"""The browse page's cache stays correct: a change to a listing, its price, rating, images,
moderation state or seller is visible on the very next request; who shares the cache and who
does not; and a cache that does not answer costs nothing but speed."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import constants
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile
from accounts.services import user_suspend
from accounts.tests.helpers import make_user
from listings import browse_cache
from listings.models import CadSoftware, Category, Listing
from listings.services import favorite_toggle, listing_approve, listing_archive, listing_edit, listing_submit
from listings.tests.helpers import content, make_published, make_verified_seller
from listings.views import browse
from reviews.tests.test_display import rate

pytestmark = pytest.mark.django_db

BROWSE = reverse("listings:browse")


def cards(client, **params) -> str:
    response = client.get(BROWSE, params)
    assert response.status_code == 200
    return response.text


def served_from_cache(client, **params) -> bool:
    """The anonymous page came out of Redis (no template rendered, so no context)."""
    return client.get(BROWSE, params).context is None


@pytest.fixture
def listing():
    return make_published(owner=make_verified_seller(username="ceramist"), title="Zirconia crown design",
                          price_cents=1500)


def test_an_anonymous_page_is_served_from_the_cache_the_second_time(client, listing):
    assert not served_from_cache(client, q="zirc")
    assert served_from_cache(client, q="zirc")
    # The same filters written differently: rendered once (this process has not seen that query
    # string), from the cached results without reading a listing; then served whole.
    with CaptureQueriesContext(connection) as queries:
        assert not served_from_cache(client, q="zirc ")
    assert not [query for query in queries if "listings_listing" in query["sql"]]
    assert served_from_cache(client, q="zirc ")
    assert not served_from_cache(client, q="zirc", sort="newest")


def test_a_price_change_shows_on_the_next_request(client, listing):
    assert "$15.00" in cards(client)

    edit = listing_edit(listing=listing, by=listing.owner, data=content(price_cents=2500), software=CadSoftware.objects
                        .filter(slug="exocad-dentalcad"), image_order=[0], removed_images=[], new_images=[])
    listing_submit(listing=edit, by=listing.owner)
    assert "$15.00" in cards(client)  # an edit in review changes nothing yet
    listing_approve(listing=edit, by=make_user(is_staff=True))

    page = cards(client)
    assert "$25.00" in page and "$15.00" not in page


def test_moderation_and_the_seller_s_account_show_on_the_next_request(client, listing):
    assert listing.title in cards(client)
    profile = Profile.objects.get(user=listing.owner)
    profile.display_name = "Ceramic Studio Berlin"
    profile.save()
    assert "Ceramic Studio Berlin" in cards(client)

    user_suspend(user=listing.owner, by=make_user(is_staff=True), reason="Chargebacks under review.")
    assert listing.title not in cards(client)


def test_archiving_and_publishing_show_on_the_next_request(client, listing):
    assert listing.title in cards(client, q="crown")
    listing_archive(listing=listing, by=listing.owner)
    assert listing.title not in cards(client, q="crown")

    other = make_published(title="Crown and bridge design in 3Shape")
    assert other.title in cards(client, q="crown")


def test_a_new_rating_shows_on_the_next_request(client, listing):
    assert "review" not in cards(client, sort="rating")

    rate(listing, 4)

    assert "(1 review)" in cards(client, sort="rating")


def test_a_renamed_category_shows_in_the_filter_form_on_the_next_request(client, listing):
    assert "Models &amp; Dies" in cards(client)

    category = Category.objects.get(slug="models-dies")
    category.name = "Printed models and dies"
    category.save()

    page = cards(client)
    assert "Printed models and dies" in page and "Models &amp; Dies" not in page


def test_a_sign_in_does_not_empty_the_cache(client, listing):
    cards(client)
    version = browse_cache.current_versions()

    client.force_login(make_user())  # updates last_login

    assert browse_cache.current_versions() == version


def test_the_version_moves_again_after_commit(django_capture_on_commit_callbacks, listing):
    """A request between the change and its commit may cache the old rows under the new token:
    the bump after commit makes that entry unreachable."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        listing_archive(listing=listing, by=listing.owner)
    during = browse_cache.current_versions()

    for callback in callbacks:
        callback()

    assert browse_cache.current_versions().results != during.results


def test_signed_in_people_share_the_cards_and_see_their_own_stars(client, listing):
    cards(client)  # cached anonymously
    buyer = make_user()
    favorite_toggle(user=buyer, listing=listing)
    client.force_login(buyer)

    page = cards(client)

    assert page.count('aria-pressed="true"') == 1 and "★ Saved" in page
    client.force_login(make_user())
    assert 'aria-pressed="true"' not in cards(client) and "☆ Save" in cards(client)


def test_someone_with_a_private_offer_does_not_get_the_shared_page(client, listing):
    lab = make_user(username="dentalab")
    private = make_published(owner=listing.owner, title="Private crown offer for one lab", is_private=True,
                             recipients=[lab])
    assert private.title not in cards(client)  # cached for everyone

    client.force_login(lab)
    assert private.title in cards(client)
    client.logout()
    assert private.title not in cards(client)


def test_a_waiting_message_is_shown_not_cached(rf, client, listing):
    cards(client)  # cached
    request = rf.get(BROWSE)
    request.user, request.session = AnonymousUser(), client.session
    request._messages = FallbackStorage(request)
    request._messages.add(constants.SUCCESS, "You have signed out.")

    response = browse(request)

    assert b"You have signed out." in response.content
    assert "You have signed out." not in cards(client)


def test_without_redis_the_page_still_answers(client, listing, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(cache, "get_many", down)
    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(cache, "set", down)

    assert listing.title in cards(client, q="zirc")
    assert listing.title in cards(client, q="zirc")


def test_listings_past_their_expiry_date_leave_the_cached_page_at_midnight(client, listing, monkeypatch):
    today = timezone.localdate()
    Listing.objects.filter(pk=listing.pk).update(expires_on=today)  # no signal: only the day moves
    assert listing.title in cards(client)

    monkeypatch.setattr(timezone, "localdate", lambda *args: today + timedelta(days=1))

    assert listing.title not in cards(client)


def test_a_page_from_the_cache_carries_the_headers_the_stack_gave_it(client, listing):
    first = client.get(BROWSE)
    second = client.get(BROWSE)

    assert first.context is not None and second.context is None
    assert "Content-Security-Policy" in first.headers
    headers = ("Content-Security-Policy", "X-Frame-Options", "Vary", "Content-Type", "X-Content-Type-Options",
               "Referrer-Policy")
    for header in headers:
        assert second.headers.get(header) == first.headers.get(header), header
    assert second.content == first.content


def test_a_visitor_with_a_session_gets_the_page_from_the_view(client, listing):
    client.get(BROWSE)
    client.cookies["sessionid"] = "not-a-session"

    assert client.get(BROWSE).context is not None

"""Who sees which listing, and where: the listing page, browse, search and the result count.

Each test builds one listing in one state through the services, then looks at it as one
viewer. "owner" is always the listing's owner; "recipient" is named in the recipients of
the private listings; "stranger" is another signed-in user; "staff" has is_staff."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import user_suspend
from accounts.tests.helpers import make_user
from listings.models import Listing
from listings.services import (
    listing_approve,
    listing_archive,
    listing_reject,
    listing_submit,
    listing_update,
    listings_expire,
)
from listings.tests.helpers import content, make_draft, make_published, make_verified_seller

pytestmark = pytest.mark.django_db

VIEWERS = ["owner", "recipient", "stranger", "anonymous", "staff"]
EVERYONE = set(VIEWERS)
OWNER_AND_STAFF = {"owner", "staff"}
WORD = "zirc"  # a prefix of "Zirconia", the first word of every test listing's title
REJECTION_REASON = "The cover image shows another lab's logo."
RESULT_COUNT = re.compile(r'data-testid="result-count">(\d+) service')


@pytest.fixture
def people():
    return {"recipient": make_user(), "stranger": make_user(), "staff": make_user(is_staff=True)}


def _yesterday() -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=1)


def _submitted(owner) -> Listing:
    return listing_submit(listing=make_draft(owner), by=owner)


def _archived(listing: Listing) -> Listing:
    return listing_archive(listing=listing, by=listing.owner)


def _expired(people) -> Listing:
    listing = make_published(expires_on=_yesterday())
    assert listings_expire() == 1
    listing.refresh_from_db()
    return listing


def _owner_suspended(people) -> Listing:
    listing = make_published()
    user_suspend(user=listing.owner, by=people["staff"], reason="Asked clients to pay outside the platform.")
    return listing


BUILDERS = {
    "public": lambda people: make_published(),
    "private": lambda people: make_published(is_private=True, recipients=[people["recipient"]]),
    "pending_review": lambda people: _submitted(make_verified_seller()),
    # Staff approved it, but the owner is not verified yet: it waits as "approved".
    "approved_unverified": lambda people: listing_approve(listing=_submitted(make_user()), by=people["staff"]),
    "rejected": lambda people: listing_reject(
        listing=_submitted(make_verified_seller()), by=people["staff"], reason=REJECTION_REASON
    ),
    "expired": _expired,
    # The expiry date passed but the hourly sweep has not run yet: hidden all the same.
    "expiry_passed_unswept": lambda people: make_published(expires_on=_yesterday()),
    "archived": lambda people: _archived(make_published()),
    "private_archived": lambda people: _archived(make_published(is_private=True, recipients=[people["recipient"]])),
    # A suspended owner cannot sign in any more, so "owner" browses like anyone signed out.
    "owner_suspended": _owner_suspended,
}

# state: (viewers whose listing page is 200, viewers who find it in browse and search)
MATRIX = {
    "public": (EVERYONE, EVERYONE),
    "private": ({"owner", "recipient", "staff"}, {"owner", "recipient", "staff"}),
    "pending_review": (OWNER_AND_STAFF, set()),
    "approved_unverified": (OWNER_AND_STAFF, set()),
    "rejected": (OWNER_AND_STAFF, set()),
    "expired": (OWNER_AND_STAFF, set()),
    "expiry_passed_unswept": (OWNER_AND_STAFF, set()),
    "archived": (OWNER_AND_STAFF, set()),
    "private_archived": (OWNER_AND_STAFF, set()),
    "owner_suspended": ({"staff"}, set()),
}
LIVE_STATES = {"public", "private"}
COMBINATIONS = [(state, viewer) for state in MATRIX for viewer in VIEWERS]


def build(state: str, people) -> Listing:
    listing = BUILDERS[state](people)
    listing.refresh_from_db()
    return listing


def as_viewer(client, viewer: str, listing: Listing, people):
    if viewer != "anonymous":
        client.force_login(listing.owner if viewer == "owner" else people[viewer])
    return client


def result_count(response) -> int:
    count = response.context["page"].paginator.count
    match = RESULT_COUNT.search(response.content.decode())
    assert match, "the result count is missing"
    assert int(match.group(1)) == count
    return count


# --- the listing page ---------------------------------------------------------------------


@pytest.mark.parametrize(("state", "viewer"), COMBINATIONS)
def test_listing_page(client, people, state, viewer):
    listing = build(state, people)
    may_see, _ = MATRIX[state]

    response = as_viewer(client, viewer, listing, people).get(listing.get_absolute_url())

    assert response.status_code == (200 if viewer in may_see else 404)
    if response.status_code == 404:
        assert listing.title not in response.content.decode()
        return
    html = response.content.decode()
    assert listing.title in html
    banner = 'data-testid="listing-state"'
    if state in LIVE_STATES:
        assert banner not in html
    elif listing.status != Listing.Status.PUBLISHED:  # published but hidden: see the banner test below
        assert banner in html
        assert f"<strong>{listing.get_status_display().lower()}</strong>" in html
        assert (f"Reason: {REJECTION_REASON}".replace("'", "&#x27;") in html) == (state == "rejected")


@pytest.mark.parametrize(
    ("state", "viewer"),
    [
        ("expiry_passed_unswept", "owner"),
        ("expiry_passed_unswept", "staff"),
        ("owner_suspended", "staff"),
    ],
)
def test_a_published_but_hidden_listing_shows_a_banner_to_owner_and_staff(client, people, state, viewer):
    listing = build(state, people)

    response = as_viewer(client, viewer, listing, people).get(listing.get_absolute_url())

    assert response.status_code == 200
    assert 'data-testid="listing-state"' in response.content.decode()


# --- browse, search and the result count --------------------------------------------------


@pytest.mark.parametrize(("state", "viewer"), COMBINATIONS)
def test_browse_and_search(client, people, state, viewer):
    listing = build(state, people)
    _, finds_it = MATRIX[state]
    expected = 1 if viewer in finds_it else 0
    client = as_viewer(client, viewer, listing, people)

    for query in ["", f"?q={WORD}", f"?q={WORD}&sort=newest"]:
        response = client.get(reverse("listings:browse") + query)

        assert response.status_code == 200
        assert [shown.pk for shown in response.context["page"].object_list] == [listing.pk] * expected, query
        assert result_count(response) == expected, query
        assert (listing.get_absolute_url() in response.content.decode()) == bool(expected), query


def test_a_word_missing_from_every_title_finds_nothing(client, people):
    make_published()

    response = client.get(reverse("listings:browse"), {"q": "titanium"})

    assert result_count(response) == 0
    assert "No services match." in response.content.decode()


# --- the edit page ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("viewer", "status"),
    [("owner", 200), ("recipient", 404), ("stranger", 404), ("staff", 404), ("anonymous", 302)],
)
def test_only_the_owner_opens_the_edit_page_of_a_private_listing(client, people, viewer, status):
    listing = build("private", people)
    url = reverse("listings:edit", args=[listing.pk])

    response = as_viewer(client, viewer, listing, people).get(url)

    assert response.status_code == status
    if status == 302:
        assert response.url.startswith(reverse("account_login"))
        assert f"next={url}" in response.url
    else:
        assert (listing.title in response.content.decode()) == (status == 200)


@pytest.mark.parametrize("viewer", ["stranger", "anonymous"])
def test_strangers_get_404_for_a_private_listing_under_any_slug(client, people, viewer):
    listing = build("private", people)
    client = as_viewer(client, viewer, listing, people)

    assert client.get(listing.get_absolute_url()).status_code == 404
    assert client.get(reverse("listings:detail", args=[listing.pk, "other-slug"])).status_code == 404


# --- the "private offers to me" filter ----------------------------------------------------


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("recipient", 1),
        ("stranger", 0),
        ("anonymous", 0),
        ("owner", 0),
        ("staff", 0),
    ],
)
def test_private_filter_shows_offers_made_to_the_viewer(client, people, viewer, expected):
    private = build("private", people)
    make_published(owner=private.owner)  # public: never under the private filter
    make_published(is_private=True, recipients=[make_user()])  # offered to someone else

    response = as_viewer(client, viewer, private, people).get(reverse("listings:browse"), {"private": "on"})

    assert [listing.pk for listing in response.context["page"].object_list] == [private.pk] * expected
    assert result_count(response) == expected


def test_the_private_filter_is_offered_to_signed_in_users_only(client, people):
    assert 'name="private"' not in client.get(reverse("listings:browse")).content.decode()
    client.force_login(people["stranger"])
    assert 'name="private"' in client.get(reverse("listings:browse")).content.decode()


# --- an edit of a live listing stays out of sight -----------------------------------------


def test_the_pending_edit_of_a_live_listing_is_never_shown(client, people):
    live = make_published()
    edit = listing_update(
        listing=live,
        by=live.owner,
        data=content(title="Zirconia crown design, now with titanium bases"),
        software=live.software.all(),
    )
    listing_submit(listing=live, by=live.owner)
    assert edit.edit_of_id == live.pk

    for viewer in VIEWERS:
        client.logout()
        as_viewer(client, viewer, live, people)
        assert client.get(live.get_absolute_url()).status_code == 200, viewer
        # The copy has no page of its own, not even for its owner or staff.
        assert client.get(reverse("listings:detail", args=[edit.pk, edit.slug])).status_code == 404, viewer
        assert [listing.pk for listing in client.get(reverse("listings:browse")).context["page"]] == [live.pk]
        assert result_count(client.get(reverse("listings:browse"), {"q": "titanium"})) == 0, viewer

    listing_approve(listing=edit, by=people["staff"])
    client.logout()
    response = client.get(reverse("listings:browse"), {"q": "titanium"})
    assert [listing.pk for listing in response.context["page"]] == [live.pk]

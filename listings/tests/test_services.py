import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.services import verification_approve
from accounts.tests.helpers import make_pending_request, make_user
from cadcam.errors import ApplicationError, InvalidTransition
from listings.models import Listing, ListingImage
from listings.selectors import BrowseFilters, listings_browse
from listings.services import (
    ListingNotReady,
    listing_approve,
    listing_archive,
    listing_reject,
    listing_submit,
    listing_update,
    listings_expire,
)
from listings.tasks import expire_listings
from listings.tests.helpers import content, make_draft, make_published, make_verified_seller

pytestmark = pytest.mark.django_db
S = Listing.Status


@pytest.fixture
def staff():
    return make_user(is_staff=True)


def test_submit_and_approve_publishes_for_a_verified_owner(staff, django_capture_on_commit_callbacks):
    owner = make_verified_seller(email="elena@example.com")
    listing = make_draft(owner)

    listing_submit(listing=listing, by=owner)
    with django_capture_on_commit_callbacks(execute=True):
        listing = listing_approve(listing=listing, by=staff)

    assert listing.status == S.PUBLISHED
    assert listing.published_at is not None
    assert listing.reviewed_by == staff
    assert mail.outbox[-1].subject == "[CadCam Masters] Your listing is live: Zirconia crown design"


def test_approved_before_verification_goes_live_at_verification(staff):
    owner = make_user()
    listing = make_draft(owner)
    listing_submit(listing=listing, by=owner)

    listing = listing_approve(listing=listing, by=staff)
    assert listing.status == S.APPROVED
    assert not listings_browse(viewer=make_user(), filters=BrowseFilters()).exists()

    verification_approve(request=make_pending_request(owner), by=staff)

    listing.refresh_from_db()
    assert listing.status == S.PUBLISHED
    assert list(listings_browse(viewer=make_user(), filters=BrowseFilters())) == [listing]


def test_submit_refuses_a_listing_that_fails_its_prechecks():
    owner = make_verified_seller()
    listing = make_draft(owner, images=0, description="Call me on +49 30 901820 " + "x" * 150)

    with pytest.raises(ListingNotReady) as refused:
        listing_submit(listing=listing, by=owner)

    assert [problem.field for problem in refused.value.problems] == ["description", "images"]
    listing.refresh_from_db()
    assert listing.status == S.DRAFT


def test_reject_needs_a_reason_and_emails_it(staff, django_capture_on_commit_callbacks):
    owner = make_verified_seller()
    listing = make_draft(owner)
    listing_submit(listing=listing, by=owner)

    with pytest.raises(ApplicationError, match="Give the reason"):
        listing_reject(listing=listing, by=staff, reason=" ")
    with django_capture_on_commit_callbacks(execute=True):
        listing = listing_reject(listing=listing, by=staff, reason="The images show another lab's logo.")

    assert listing.status == S.REJECTED
    assert "The images show another lab's logo." in mail.outbox[-1].body
    listing_submit(listing=listing, by=owner)  # fixed and sent again
    listing.refresh_from_db()
    assert listing.status == S.PENDING_REVIEW
    assert listing.rejection_reason == ""


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_only_listings_in_review_can_be_decided(staff, action):
    listing = make_draft(make_verified_seller())

    with pytest.raises(InvalidTransition, match="This listing is draft"):
        if action == "approve":
            listing_approve(listing=listing, by=staff)
        else:
            listing_reject(listing=listing, by=staff, reason="No")


def test_only_the_owner_submits_edits_and_archives():
    listing = make_draft(make_verified_seller())
    stranger = make_user()

    for attempt in (
        lambda: listing_submit(listing=listing, by=stranger),
        lambda: listing_archive(listing=listing, by=stranger),
        lambda: listing_update(listing=listing, by=stranger, data={"title": "Mine now"}, software=[]),
    ):
        with pytest.raises(ApplicationError, match="Only the owner"):
            attempt()
    listing.refresh_from_db()
    assert listing.title == "Zirconia crown design"


# --- editing a published listing --------------------------------------------------------------


def test_editing_a_published_listing_keeps_the_live_version_until_the_edit_is_approved(staff):
    live = make_published(options=[("Express 24 h", 1500)], images=2)
    owner = live.owner
    software = list(live.software.all())

    edit = listing_update(
        listing=live,
        by=owner,
        data=content(title="Zirconia crown design, now with wax-up", price_cents=1900),
        software=software,
    )

    live.refresh_from_db()
    assert edit.pk != live.pk and edit.edit_of == live
    assert live.title == "Zirconia crown design"
    assert live.price_cents == 1500
    assert live.status == S.PUBLISHED
    assert edit.images.count() == 2  # the copy has its own copies of the images

    listing_submit(listing=live, by=owner)  # submitting the live listing submits its edit
    edit.refresh_from_db()
    assert edit.status == S.PENDING_REVIEW
    live.refresh_from_db()
    assert live.status == S.PUBLISHED

    listing_approve(listing=edit, by=staff)

    live.refresh_from_db()
    assert live.title == "Zirconia crown design, now with wax-up"
    assert live.price_cents == 1900
    assert live.status == S.PUBLISHED
    assert not Listing.objects.filter(edit_of=live).exists()
    assert live.images.count() == 2
    assert ListingImage.objects.count() == 2
    assert live.options.count() == 0  # the edit had no options
    found = listings_browse(viewer=make_user(), filters=BrowseFilters(q="wax"))
    assert list(found) == [live]


def test_a_rejected_edit_leaves_the_live_listing_alone(staff):
    live = make_published()
    edit = listing_update(listing=live, by=live.owner, data=content(title="Changed"), software=live.software.all())
    listing_submit(listing=edit, by=live.owner)

    listing_reject(listing=edit, by=staff, reason="Title is misleading.")

    live.refresh_from_db()
    edit.refresh_from_db()
    assert live.title == "Zirconia crown design"
    assert live.status == S.PUBLISHED
    assert edit.status == S.REJECTED


def test_the_edit_copy_is_invisible_in_browse():
    live = make_published()
    listing_update(
        listing=live, by=live.owner, data=content(title="Zirconia crown design v2"), software=live.software.all()
    )

    assert list(listings_browse(viewer=make_user(), filters=BrowseFilters(q="zirconia"))) == [live]


# --- archive and expiry ---------------------------------------------------------------------------


def test_archiving_takes_the_listing_down():
    live = make_published()

    listing_archive(listing=live, by=live.owner)

    live.refresh_from_db()
    assert live.status == S.ARCHIVED
    assert not listings_browse(viewer=make_user(), filters=BrowseFilters()).exists()
    with pytest.raises(InvalidTransition):
        listing_archive(listing=live, by=live.owner)


def test_expiry_task_expires_past_listings_once_and_emails_the_owner(django_capture_on_commit_callbacks):
    today = timezone.localdate()
    with time_machine.travel(timezone.now() - dt.timedelta(days=10)):
        old = make_published(expires_on=today - dt.timedelta(days=1))
        current = make_published(expires_on=today + dt.timedelta(days=5))

    with django_capture_on_commit_callbacks(execute=True):
        assert expire_listings.delay().get() == 1

    old.refresh_from_db()
    current.refresh_from_db()
    assert old.status == S.EXPIRED
    assert current.status == S.PUBLISHED
    assert mail.outbox[-1].subject == "[CadCam Masters] Your listing has expired: Zirconia crown design"
    assert listings_expire() == 0  # a second sweep changes nothing


def test_a_listing_past_its_date_leaves_browse_before_the_sweep_runs():
    today = timezone.localdate()
    with time_machine.travel(timezone.now() - dt.timedelta(days=10)):
        make_published(expires_on=today - dt.timedelta(days=1))

    assert not listings_browse(viewer=make_user(), filters=BrowseFilters()).exists()


def test_staff_bulk_actions_approve_and_reject_with_a_reason(client, staff):
    from django.urls import reverse

    owner = make_verified_seller()
    first, second = make_draft(owner, title="First crown"), make_draft(owner, title="Second crown")
    for listing in (first, second):
        listing_submit(listing=listing, by=owner)
    client.force_login(staff)
    url = reverse("admin:listings_listing_changelist")

    asked = client.post(url, {"action": "reject_selected", "_selected_action": [first.pk]})
    assert "Reject listings" in asked.content.decode()
    client.post(url, {"action": "reject_selected", "_selected_action": [first.pk], "apply": "1", "reason": "Blurry"})
    client.post(url, {"action": "approve_selected", "_selected_action": [second.pk]})

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.rejection_reason) == (S.REJECTED, "Blurry")
    assert second.status == S.PUBLISHED

"""Ratings: exact averages from visible, not hidden reviews; hiding and showing again by staff."""

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError
from listings.models import Listing
from listings.tests.helpers import make_published
from reviews.models import Review, ReviewModeration, Role, UserRating
from reviews.selectors import ratings_of, reviews_of_listing
from reviews.services import review_create, review_hide, review_unhide
from reviews.tests.helpers import GOOD, completed_order

pytestmark = pytest.mark.django_db


def reviewed(listing, *, client_rating: int, designer_rating: int | None = None, employer=None):
    """A completed order on the listing; the client rates the designer, the designer the client."""
    order = completed_order(listing=listing, **({"employer": employer} if employer else {}))
    review = review_create(order=order, author=order.employer, rating=client_rating, comment=GOOD)
    if designer_rating is not None:
        review_create(order=order, author=order.freelancer, rating=designer_rating, comment=GOOD)
    review.refresh_from_db()
    return review


def listing_rating(listing):
    listing = Listing.objects.get(pk=listing.pk)
    return listing.rating_count, listing.rating_avg


def user_rating(user, role):
    rating = ratings_of(user)[role]
    return rating.count, rating.average


def test_averages_are_exact_and_count_only_revealed_reviews():
    listing = make_published()
    client = make_user()
    reviewed(listing, client_rating=5, designer_rating=4, employer=client)
    reviewed(listing, client_rating=4, designer_rating=5)
    reviewed(listing, client_rating=4, designer_rating=3, employer=client)
    reviewed(listing, client_rating=1)  # blind: the designer has not reviewed yet

    assert listing_rating(listing) == (3, Decimal("4.33"))  # (5 + 4 + 4) / 3
    assert user_rating(listing.owner, Role.FREELANCER) == (3, Decimal("4.33"))
    assert user_rating(listing.owner, Role.EMPLOYER) == (0, 0)
    assert user_rating(client, Role.EMPLOYER) == (2, Decimal("3.50"))  # (4 + 3) / 2
    assert user_rating(client, Role.FREELANCER) == (0, 0)
    stored = UserRating.objects.get(user=listing.owner, role=Role.FREELANCER)
    assert (stored.count, stored.total) == (3, 13)


def test_a_designer_rating_spans_listings_and_a_listing_counts_only_its_own_orders():
    first = make_published()
    designer = first.owner
    second = make_published(owner=designer, title="Veneer design")
    reviewed(first, client_rating=5, designer_rating=5)
    reviewed(first, client_rating=5, designer_rating=5)
    reviewed(second, client_rating=4, designer_rating=5)

    assert listing_rating(first) == (2, Decimal("5.00"))
    assert listing_rating(second) == (1, Decimal("4.00"))
    assert user_rating(designer, Role.FREELANCER) == (3, Decimal("4.67"))  # 14 / 3, rounded half up


def test_hiding_takes_a_review_out_of_pages_and_ratings_and_keeps_the_reason(django_capture_on_commit_callbacks):
    listing = make_published()
    staff = make_user(is_staff=True)
    rude = reviewed(listing, client_rating=1, designer_rating=5)
    reviewed(listing, client_rating=4, designer_rating=5)
    assert listing_rating(listing) == (2, Decimal("2.50"))

    with django_capture_on_commit_callbacks(execute=True):
        review_hide(review=rude, by=staff, reason="Insults the designer.")

    assert listing_rating(listing) == (1, Decimal("4.00"))
    assert user_rating(listing.owner, Role.FREELANCER) == (1, Decimal("4.00"))
    assert rude not in reviews_of_listing(listing)
    rude.refresh_from_db()
    assert (rude.hidden_reason, rude.hidden_by) == ("Insults the designer.", staff)
    assert [message.to for message in mail.outbox] == [[rude.author.email]]
    assert "Insults the designer." in mail.outbox[0].body

    review_unhide(review=rude, by=staff)

    assert listing_rating(listing) == (2, Decimal("2.50"))
    assert list(ReviewModeration.objects.filter(review=rude).values_list("action", "reason")) == [
        ("hide", "Insults the designer."), ("unhide", ""),
    ]


def test_hiding_the_last_review_leaves_no_rating():
    listing = make_published()
    only = reviewed(listing, client_rating=3, designer_rating=5)

    review_hide(review=only, by=make_user(is_staff=True), reason="Not about this order.")

    assert listing_rating(listing) == (0, Decimal("0.00"))
    assert user_rating(listing.owner, Role.FREELANCER) == (0, Decimal("0.00"))


@pytest.mark.parametrize(
    ("by_staff", "reason", "message"),
    [
        (False, "Rude", "Only staff can hide a review."),
        (True, "   ", "Give the reason for hiding the review: its author reads it."),
    ],
)
def test_hiding_is_refused_without_staff_or_reason(by_staff, reason, message):
    review = reviewed(make_published(), client_rating=1, designer_rating=5)

    with pytest.raises(ApplicationError) as error:
        review_hide(review=review, by=make_user(is_staff=by_staff), reason=reason)

    assert error.value.message == message
    review.refresh_from_db()
    assert review.hidden_at is None


def test_staff_hide_from_the_admin_with_a_reason(client):
    listing = make_published()
    review = reviewed(listing, client_rating=1, designer_rating=5)
    client.force_login(make_user(is_staff=True))
    changelist = reverse("admin:reviews_review_changelist")
    selected = {"action": "hide_selected", "_selected_action": [review.pk]}

    asking = client.post(changelist, selected)
    assert asking.status_code == 200 and "Hide reviews that break the terms" in asking.content.decode()
    refused = client.post(changelist, {**selected, "apply": "1", "reason": ""})
    assert refused.status_code == 200
    review.refresh_from_db()
    assert review.hidden_at is None

    client.post(changelist, {**selected, "apply": "1", "reason": "Personal data of a patient."})

    review.refresh_from_db()
    assert review.hidden_reason == "Personal data of a patient."
    assert listing_rating(listing) == (0, Decimal("0.00"))
    assert client.get(changelist, {"visibility": "hidden"}).context["cl"].result_count == 1

    client.post(changelist, {"action": "unhide_selected", "_selected_action": [review.pk]})

    review.refresh_from_db()
    assert review.hidden_at is None
    assert listing_rating(listing) == (1, Decimal("1.00"))


def test_the_admin_cannot_add_or_edit_reviews(client):
    review = reviewed(make_published(), client_rating=4, designer_rating=5)
    client.force_login(make_user(is_staff=True))

    assert client.get(reverse("admin:reviews_review_add")).status_code == 403
    client.post(reverse("admin:reviews_review_change", args=[review.pk]), {"rating": "1", "comment": "x" * 20})

    assert Review.objects.get(pk=review.pk).rating == 4

"""One review per party per order, the double-blind rule, reveal by time, and replies."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError
from reviews.models import Review
from reviews.selectors import order_reviews_for, reviews_received_by
from reviews.services import review_create, review_reply, reviews_reveal_due, reviews_sweep
from reviews.tests.helpers import GOOD, completed_order

pytestmark = pytest.mark.django_db

THANKS = "Clear instructions and a fast answer to my question."


def test_a_party_reviews_an_order_once():
    order = completed_order()
    review_create(order=order, author=order.employer, rating=5, comment=GOOD)

    with pytest.raises(ApplicationError) as error:
        review_create(order=order, author=order.employer, rating=1, comment="Changed my mind entirely.")

    assert error.value.message == "You have already reviewed this order."
    assert list(Review.objects.values_list("rating", flat=True)) == [5]


@pytest.mark.django_db(transaction=True)
def test_a_double_submit_at_the_same_moment_stores_one_review():
    order = completed_order()
    barrier = threading.Barrier(2)
    outcomes = [None, None]

    def submit(index):
        try:
            barrier.wait()
            review_create(order=order, author=order.employer, rating=5 - index, comment=GOOD)
        except Exception as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert Review.objects.filter(order=order).count() == 1
    assert sum(outcome is None for outcome in outcomes) == 1
    failure = next(outcome for outcome in outcomes if outcome is not None)
    assert isinstance(failure, ApplicationError)
    assert failure.message == "You have already reviewed this order."


def test_a_review_is_blind_until_the_other_side_reviews():
    order = completed_order()
    first = review_create(order=order, author=order.employer, rating=4, comment=GOOD)

    assert first.visible_at is None
    mine = order_reviews_for(order, order.employer)
    assert mine.mine == first and mine.waiting and mine.theirs is None
    theirs = order_reviews_for(order, order.freelancer)
    assert theirs.mine is None and theirs.theirs is None and theirs.can_review and theirs.other_reviewed
    assert reviews_received_by(order.freelancer) == []

    second = review_create(order=order, author=order.freelancer, rating=5, comment=THANKS)

    first.refresh_from_db()
    assert first.visible_at == second.visible_at is not None
    assert order_reviews_for(order, order.employer).theirs == second
    assert order_reviews_for(order, order.freelancer).theirs == first
    assert reviews_received_by(order.freelancer) == [first]


def test_the_order_page_shows_waiting_then_both_reviews(client):
    order = completed_order()
    url = reverse("orders:detail", args=[order.pk])
    client.force_login(order.employer)
    client.post(reverse("reviews:create", args=[order.pk]), {"rating": "4", "comment": GOOD})

    page = client.get(url).content.decode()
    assert "Waiting for the other side" in page and GOOD in page
    client.force_login(order.freelancer)
    page = client.get(url).content.decode()
    assert GOOD not in page
    assert 'data-testid="review-form"' in page

    response = client.post(reverse("reviews:create", args=[order.pk]), {"rating": "5", "comment": THANKS}, follow=True)

    page = response.content.decode()
    assert "Both reviews are now visible." in page
    assert GOOD in page and THANKS in page and "Waiting for the other side" not in page


def test_staff_on_the_order_page_see_only_revealed_reviews(client):
    order = completed_order()
    review_create(order=order, author=order.employer, rating=4, comment=GOOD)
    client.force_login(make_user(is_staff=True))
    url = reverse("orders:detail", args=[order.pk])

    assert GOOD not in client.get(url).content.decode()
    review_create(order=order, author=order.freelancer, rating=5, comment=THANKS)
    page = client.get(url).content.decode()
    assert GOOD in page and THANKS in page and 'data-testid="review-form"' not in page


def test_a_lone_review_is_revealed_by_the_sweep_when_the_window_ends():
    order = completed_order()
    review = review_create(order=order, author=order.freelancer, rating=3, comment=THANKS)
    closes = order.completed_at + dt.timedelta(days=14)

    with time_machine.travel(closes - dt.timedelta(minutes=1)):
        assert reviews_reveal_due() == []
    with time_machine.travel(closes + dt.timedelta(minutes=5)):
        assert reviews_sweep().revealed == [review.pk]
        assert reviews_reveal_due() == []  # a second run changes nothing
        view = order_reviews_for(order, order.employer)

    review.refresh_from_db()
    assert review.visible_at is not None
    assert view.theirs == review and not view.can_review
    assert reviews_received_by(order.employer) == [review]


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_reveal_each_review_once():
    order = completed_order()
    review_create(order=order, author=order.freelancer, rating=3, comment=THANKS)
    later = order.completed_at + dt.timedelta(days=15)
    barrier = threading.Barrier(2)
    results = [None, None]

    def sweep(index):
        try:
            barrier.wait()
            results[index] = reviews_reveal_due(now=later)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(len(result) for result in results) == [0, 1]
    assert Review.objects.get().visible_at is not None


# --- replies ------------------------------------------------------------------------------


def _both_reviewed(order):
    of_designer = review_create(order=order, author=order.employer, rating=2, comment=GOOD)
    review_create(order=order, author=order.freelancer, rating=5, comment=THANKS)
    of_designer.refresh_from_db()
    return of_designer


def test_the_reviewed_party_replies_once():
    order = completed_order()
    review = _both_reviewed(order)

    review_reply(review=review, by=order.freelancer, text="Sorry about the contact, fixed at no charge.")
    with pytest.raises(ApplicationError) as error:
        review_reply(review=review, by=order.freelancer, text="And another thing.")

    assert error.value.message == "You have already replied to this review."
    review.refresh_from_db()
    assert review.reply == "Sorry about the contact, fixed at no charge."


@pytest.mark.parametrize("who", ["author", "outsider"])
def test_only_the_reviewed_party_can_reply(who):
    order = completed_order()
    review = _both_reviewed(order)
    by = order.employer if who == "author" else make_user()

    with pytest.raises(ApplicationError) as error:
        review_reply(review=review, by=by, text="Hello there.")

    assert error.value.message == "Only the person who was reviewed can reply."
    review.refresh_from_db()
    assert review.reply == "" and review.replied_at is None


def test_no_reply_to_a_blind_review():
    order = completed_order()
    review = review_create(order=order, author=order.employer, rating=2, comment=GOOD)

    with pytest.raises(ApplicationError) as error:
        review_reply(review=review, by=order.freelancer, text="Let me explain.")

    assert error.value.message == "You can reply once the review is visible."


def test_the_reply_form_publishes_the_reply_on_the_order_page(client):
    order = completed_order()
    review = _both_reviewed(order)
    client.force_login(order.freelancer)

    response = client.post(reverse("reviews:reply", args=[review.pk]), {"reply": "Thanks, fixed it."}, follow=True)

    page = response.content.decode()
    assert "Your reply is published." in page and "Thanks, fixed it." in page
    assert 'data-testid="reply-form"' not in page

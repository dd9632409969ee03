"""Who may review, and when: the 14-day window from the end of the order."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError
from orders.services import order_accept
from orders.tests.helpers import make_order
from reviews.models import Review, Role
from reviews.services import review_create
from reviews.tests.helpers import GOOD, completed_order

pytestmark = pytest.mark.django_db


def refused(order, author, message, **kwargs):
    with pytest.raises(ApplicationError) as error:
        review_create(order=order, author=author, **{"rating": 5, "comment": GOOD, **kwargs})
    assert error.value.message == message
    assert not Review.objects.filter(order=order).exists()


def test_both_parties_review_each_other_in_their_roles():
    order = completed_order()

    by_client = review_create(order=order, author=order.employer, rating=5, comment=GOOD)
    by_designer = review_create(order=order, author=order.freelancer, rating=4, comment="Clear instructions, thanks.")

    assert (by_client.subject, by_client.subject_role) == (order.freelancer, Role.FREELANCER)
    assert (by_designer.subject, by_designer.subject_role) == (order.employer, Role.EMPLOYER)


@pytest.mark.parametrize("step", ["requested", "accepted"])
def test_an_order_that_has_not_ended_cannot_be_reviewed(step):
    order = make_order()
    if step == "accepted":
        order = order_accept(order=order, by=order.freelancer)

    refused(order, order.employer, "You can review once the order is completed or refunded.")


def test_the_window_closes_14_days_after_the_order_ended():
    order = completed_order()
    closes = order.completed_at + dt.timedelta(days=14)

    with time_machine.travel(closes - dt.timedelta(seconds=1)):
        review_create(order=order, author=order.employer, rating=5, comment=GOOD)
    with time_machine.travel(closes), pytest.raises(ApplicationError) as error:
        review_create(order=order, author=order.freelancer, rating=5, comment=GOOD)
    assert error.value.message == f"The time to review this order ended on {timezone.localtime(closes):%-d %B %Y}."
    assert list(Review.objects.values_list("author", flat=True)) == [order.employer.pk]


def test_outsiders_and_staff_cannot_review():
    order = completed_order()
    message = "Only the client and the designer of this order can review it."

    refused(order, make_user(), message)
    refused(order, make_user(is_staff=True), message)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rating": 0}, "Choose a rating from 1 to 5 stars."),
        ({"rating": 6}, "Choose a rating from 1 to 5 stars."),
        ({"comment": "  Good.   "}, "Write at least 10 characters in your review."),
        ({"comment": "x" * 2001}, "Your review can be at most 2000 characters (2001 now)."),
    ],
)
def test_bad_ratings_and_comments_are_refused(kwargs, message):
    order = completed_order()

    refused(order, order.employer, message, **kwargs)


def test_the_page_refuses_with_a_message_and_keeps_nothing(client):
    order = completed_order()
    client.force_login(order.employer)

    response = client.post(reverse("reviews:create", args=[order.pk]), {"rating": "7", "comment": "ok"}, follow=True)

    shown = [str(message) for message in response.context["messages"]]
    assert "Choose a rating from 1 to 5 stars." in shown
    assert "Write at least 10 characters in your review." in shown
    assert not Review.objects.exists()


def test_the_page_of_an_order_not_ended_refuses_with_the_service_message(client):
    order = make_order()
    client.force_login(order.employer)

    response = client.post(reverse("reviews:create", args=[order.pk]), {"rating": "5", "comment": GOOD}, follow=True)

    assert [str(m) for m in response.context["messages"]] == ["You can review once the order is completed or refunded."]
    assert not Review.objects.exists()


def test_an_outsider_does_not_find_the_order(client):
    order = completed_order()
    client.force_login(make_user())

    response = client.post(reverse("reviews:create", args=[order.pk]), {"rating": "5", "comment": GOOD})

    assert response.status_code == 404
    assert not Review.objects.exists()


def test_htmx_refusal_returns_the_block_with_the_typed_text(client):
    order = completed_order()
    client.force_login(order.employer)

    url = reverse("reviews:create", args=[order.pk])
    response = client.post(url, {"rating": "", "comment": "Fitted well, thanks!"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="order-reviews"' in body
    assert "Choose a rating from 1 to 5 stars." in body
    assert "Fitted well, thanks!" in body
    assert not Review.objects.exists()

"""Reviews after a dispute ended in a full refund: the order ended with money moved, so both
sides may review, and are reminded to."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from accounts.tests.helpers import make_user
from disputes.services import Outcome, dispute_open, dispute_resolve
from orders.models import Order
from orders.services import order_accept
from orders.tests.helpers import make_order
from reviews.services import review_create
from reviews.tasks import run_review_sweep

pytestmark = pytest.mark.django_db


def refunded_order(**kwargs) -> Order:
    """An order that ends refunded in full: disputed by the client, refunded by staff."""
    order = make_order(**kwargs)
    order = order_accept(order=order, by=order.freelancer)
    dispute = dispute_open(order=order, by=order.employer, reason="not_delivered",
                           description="Nothing was delivered and the designer stopped answering.")
    dispute_resolve(dispute=dispute, by=make_user(is_staff=True), outcome=Outcome.FULL_REFUND,
                    note="Nothing was delivered: refunded in full.")
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED and order.refunded_at, order.status
    return order


def reminders_after(order, days, capture):
    mail.outbox.clear()
    with time_machine.travel(order.ended_at + dt.timedelta(days=days, hours=1)), capture(execute=True):
        run_review_sweep()
    return mail.outbox


def test_a_refunded_order_reminds_too(django_capture_on_commit_callbacks):
    order = refunded_order()

    assert len(reminders_after(order, 3, django_capture_on_commit_callbacks)) == 2


def test_a_refunded_order_can_be_reviewed():
    order = refunded_order()

    review = review_create(order=order, author=order.employer, rating=2, comment="The design never arrived.")

    assert review.subject == order.freelancer

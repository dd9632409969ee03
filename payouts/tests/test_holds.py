"""Holds registered by apps above payouts keep a completed order's payout with the platform."""

import pytest

from orders.services import order_accept, order_complete
from orders.tests.helpers import make_order
from payouts import holds
from payouts.models import Payout
from payouts.services import payout_open, payouts_open

pytestmark = pytest.mark.django_db
P = Payout.Status


def completed_order():
    order = make_order()
    order = order_accept(order=order, by=order.freelancer)
    return order_complete(order=order, by=order.employer)


def test_a_payout_opens_on_hold_while_a_registered_check_holds_it(monkeypatch):
    held, free = completed_order(), completed_order()
    monkeypatch.setitem(holds.HOLD_CHECKS, "test", lambda order: order.pk == held.pk)

    assert payouts_open() == 2

    assert Payout.objects.get(order=held).status == P.ON_HOLD
    assert Payout.objects.get(order=free).status == P.CLEARING


def test_a_payout_is_opened_once_with_what_the_order_owes():
    order = completed_order()

    first, again = payout_open(order=order), payout_open(order=order)

    assert first.pk == again.pk and Payout.objects.count() == 1
    assert (first.amount_cents, first.due_at) == (order.owed_cents, order.payout_due_at)
    assert payouts_open() == 0


def test_only_completed_orders_owe_a_payout():
    order = make_order()
    with pytest.raises(Exception, match="nothing is owed yet"):
        payout_open(order=order)

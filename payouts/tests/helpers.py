from datetime import timedelta

import time_machine

from orders.services import order_accept, order_complete
from orders.tests.helpers import make_order
from payments.simulated import simulated_account_onboard
from payouts.models import Payout
from payouts.services import payout_account_start, payout_account_sync, payout_open, payouts_run
from payouts.tasks import transfer_payouts_of


def make_completed_order(**kwargs):
    """An order accepted (payment captured) and completed by its employer, with its payout
    opened (as the scheduled run does within a minute): the payout clears."""
    order = make_order(**kwargs)
    order = order_accept(order=order, by=order.freelancer)
    order = order_complete(order=order, by=order.employer)
    payout_open(order=order)
    return order


def connect_payouts(user, *, country: str = "DE"):
    """The freelancer sets up payouts on the simulated gateway, as the onboarding page does."""
    account = payout_account_start(user=user, country=country)
    simulated_account_onboard(account_id=account.gateway_account_id, account_holder="Test Holder",
                              iban="DE89370400440532013000")
    return payout_account_sync(account_id=account.gateway_account_id, on_enabled=transfer_payouts_of.delay)


def make_transferred(**kwargs):
    """A completed order whose designer set up payouts, sent by the scheduled run once its
    payout cleared: returns the order and its transferred payout."""
    order = make_completed_order(**kwargs)
    connect_payouts(order.freelancer)
    payout = Payout.objects.get(order=order)
    due = payout.due_at + timedelta(minutes=1)
    with time_machine.travel(due):
        payouts_run(now=due)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.TRANSFERRED
    return order, payout

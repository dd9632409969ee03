"""The storm: webhooks, transfers, deadline sweeps, chargebacks and people acting on the same
orders at the same moment, in 24 threads with their own database connections.

No refusal may be anything but a message (no deadlock, no integrity error), the Stripe
event handlers retry a deadlock as their Celery task does (and the test counts them), money
moves exactly once, and the ledger reconciles, also against the gateway's records.

    python -m pytest marketplace/tests/test_money_storm.py -s     # prints the figures
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError
from disputes.services import chargeback_record, dispute_open
from disputes.tests.helpers import DESCRIPTION, make_delivered
from listings.tests.helpers import make_published
from orders.deadlines import orders_sweep
from orders.models import Order
from orders.services import (
    order_accept,
    order_complete,
    order_create,
    order_decline,
    order_mark_authorized,
    order_withdraw,
)
from orders.tests.helpers import make_order
from payments.gateway import CardDispute
from payments.models import LedgerEntry, MoneyOperation, SimulatedOperation, SimulatedTransfer, StripeEvent
from payments.reconcile import reconcile, reconcile_gateway
from payments.simulated import SimulatedGateway
from payments.tasks import retryable_database_error
from payments.webhooks import CONNECT, PLATFORM, stripe_event_process
from payouts.models import Payout
from payouts.services import payouts_open, payouts_run
from payouts.tests.helpers import connect_payouts, make_completed_order

K = LedgerEntry.Kind
S = Order.Status
THREADS = 24


class Storm:
    """Runs actions in threads released together; records what each raised."""

    def __init__(self):
        self.actions: list = []
        self.refusals = Counter()  # messages people would read
        self.errors: list[str] = []  # anything else: must stay empty
        self.deadlocks_retried = 0
        self.calls = 0
        self._lock = threading.Lock()

    def add(self, name: str, action, *, repeat: int = 1) -> None:
        """One thread, calling `action` `repeat` times (each call is one operation)."""
        self.actions.append((name, action, repeat))

    def webhook(self, name: str, event_pk: int) -> None:
        """Process a stored event as the Celery task does: a deadlock is retried, not shown."""
        def run():
            for _ in range(8):
                try:
                    return stripe_event_process(event_pk=event_pk)
                except OperationalError as error:
                    if not retryable_database_error(error):
                        raise
                    with self._lock:
                        self.deadlocks_retried += 1
            raise AssertionError("still deadlocking after 8 tries")
        self.add(name, run)

    def run(self) -> None:
        barrier = threading.Barrier(len(self.actions))

        def worker(name, action, repeat):
            try:
                barrier.wait()
                for _ in range(repeat):
                    with self._lock:
                        self.calls += 1
                    try:
                        action()
                    except ApplicationError as error:  # a refusal: the message a person would read
                        with self._lock:
                            self.refusals[type(error).__name__] += 1
            except Exception as error:  # anything else is a finding
                with self._lock:
                    self.errors.append(f"{name}: {type(error).__name__}: {error}")
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, args=item) for item in self.actions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)


def _card_dispute(order: Order, n: int) -> CardDispute:
    charge = order.ledger.get(kind=K.CAPTURED).gateway_id
    return CardDispute(id=f"dp_storm_{n}", charge_id=charge, payment_id=order.payment_id,
                       amount_cents=order.total_cents, reason="fraudulent", status="needs_response")


def _event(endpoint: str, event_type: str, obj: dict, account: str = "") -> StripeEvent:
    event_id = f"evt_storm_{next(_events)}"
    return StripeEvent.objects.create(event_id=event_id, type=event_type, endpoint=endpoint, account=account,
                                      payload={"id": event_id, "type": event_type, "account": account,
                                               "data": {"object": obj}})


_events = itertools.count(1)


@pytest.mark.django_db(transaction=True)
def test_a_storm_on_the_same_orders_moves_money_once_and_shows_no_one_a_deadlock():
    now = timezone.now()
    listing = make_published(price_cents=12_000)
    designer = listing.owner
    account = connect_payouts(designer)

    cleared = [make_completed_order(listing=listing) for _ in range(4)]
    Payout.objects.filter(order__in=cleared).update(due_at=now - timedelta(minutes=5))
    overdue = [make_delivered(listing=listing) for _ in range(3)]
    Order.objects.filter(pk__in=[o.pk for o in overdue]).update(auto_complete_at=now - timedelta(minutes=1))
    waiting = [make_order(listing=listing) for _ in range(4)]
    Order.objects.filter(pk__in=[o.pk for o in waiting[:2]]).update(accept_by=now - timedelta(minutes=1))
    paying = []
    for _ in range(2):
        order = order_create(listing=listing, employer=make_user())
        SimulatedGateway().customer_pays(payment_id=order.payment_id, approve=True)
        paying.append(order)

    storm = Storm()
    for n, order in enumerate(cleared):
        storm.add(f"transfer run {n}", lambda: payouts_run(now=timezone.now()), repeat=3)
        # A chargeback arrives (and is updated) while the payout is being sent.
        storm.add(f"chargeback {n}", lambda order=order, n=n: chargeback_record(dispute=_card_dispute(order, n)),
                  repeat=2)
    for order in overdue:
        storm.add(f"complete #{order.pk}", lambda order=order: order_complete(order=order, by=order.employer))
        storm.add(f"dispute #{order.pk}", lambda order=order: dispute_open(
            order=order, by=order.employer, reason="quality", description=DESCRIPTION))
    storm.add("sweep 1", orders_sweep, repeat=3)
    storm.add("sweep 2", orders_sweep, repeat=3)
    for order in waiting:
        storm.add(f"accept #{order.pk}", lambda order=order: order_accept(order=order, by=order.freelancer))
        storm.add(f"decline #{order.pk}", lambda order=order: order_decline(order=order, by=order.freelancer))
    storm.add(f"withdraw #{waiting[3].pk}", lambda: order_withdraw(order=waiting[3], by=waiting[3].employer))
    for order in paying:
        for _ in range(2):
            storm.webhook(f"authorized #{order.pk}", _event(
                PLATFORM, "payment_intent.amount_capturable_updated", {"id": order.payment_id}).pk)
        storm.add(f"return page #{order.pk}", lambda order=order: order_mark_authorized(order=order))
    storm.webhook("account.updated", _event(CONNECT, "account.updated", {"id": account.gateway_account_id},
                                            account=account.gateway_account_id).pk)
    assert len(storm.actions) >= THREADS

    storm.run()

    print(f"\nstorm: {len(storm.actions)} threads, {storm.calls} operations, {len(storm.errors)} errors surfaced, "
          f"{storm.deadlocks_retried} deadlocks retried, refusals {dict(storm.refusals)}")
    assert storm.errors == []
    # Money moved exactly once.
    for order in Order.objects.all():
        transfers = SimulatedTransfer.objects.filter(transfer_group=f"order-{order.pk}").count()
        assert transfers == (1 if Payout.objects.filter(order=order, status="transferred").exists() else 0)
        assert SimulatedOperation.objects.filter(payment__reference=f"order-{order.pk}",
                                                 operation="capture").count() <= 1
        assert order.ledger.filter(kind=K.CAPTURED).count() <= 1
    assert not MoneyOperation.objects.filter(state="started").exists()
    # Every race ended in one state each.
    for order in waiting:
        order.refresh_from_db()
        assert order.status in (S.ACCEPTED, S.DECLINED, S.EXPIRED, S.WITHDRAWN)
    for order in overdue:
        order.refresh_from_db()
        assert order.status in (S.COMPLETED, S.DISPUTED)
    for order in paying:
        order.refresh_from_db()
        assert order.status == S.REQUESTED
    payouts_open()
    report = reconcile()
    assert report.ok, report.problems
    at_gateway = reconcile_gateway()
    assert at_gateway.ok, at_gateway.problems

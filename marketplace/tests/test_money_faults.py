"""The fault matrix: every money step under every fault, then the recovery job.

Each step (set a payment up, capture, release, refund in full, refund in part, transfer,
reverse a transfer) runs once with its gateway call failing in one of four ways
(payments/tests/faults.py): refused before it reaches the gateway, done but the answer lost,
timed out and done later, or answered but our commit lost. Then the recovery job runs as it
would ten minutes later, the person retries if nothing happened (as they would, told so),
and the test checks that the order's state matches the gateway, that the money moved exactly
once, and that reconcile and reconcile --gateway are green.

    python -m pytest marketplace/tests/test_money_faults.py      # 7 steps x 4 faults = 28 cases
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.tests.helpers import make_user
from disputes.models import Dispute
from disputes.services import Outcome, dispute_open, dispute_resolve
from disputes.tests.helpers import DESCRIPTION, make_accepted
from listings.tests.helpers import make_published
from orders.models import Order
from orders.services import order_accept, order_create, order_decline, order_mark_authorized, order_payment_set_up
from orders.tests.helpers import make_order
from payments.models import (
    LedgerEntry,
    MoneyOperation,
    SimulatedOperation,
    SimulatedPayment,
    SimulatedReversal,
    SimulatedTransfer,
)
from payments.operations import RECOVER_AFTER, money_recover
from payments.reconcile import reconcile, reconcile_gateway
from payments.simulated import SimulatedGateway
from payments.tests.faults import FAULTS, FaultyGateway, lose_commit_once, use_gateway
from payouts.models import Payout
from payouts.services import payout_reverse, payouts_run
from payouts.tests.helpers import connect_payouts, make_completed_order

pytestmark = pytest.mark.django_db
K = LedgerEntry.Kind
S = Order.Status


@dataclass
class Case:
    order: Order | None = None
    employer: object = None
    listing: object = None
    dispute: Dispute | None = None
    payout: Payout | None = None
    due: object = None


def _setup_authorize(case):
    case.listing, case.employer = make_published(price_cents=4200), make_user()


def _act_authorize(case):
    try:
        order_create(listing=case.listing, employer=case.employer)
    finally:
        case.order = Order.objects.get(employer=case.employer)


def _retry_authorize(case):
    order_payment_set_up(order=case.order, by=case.employer)


def _check_authorize(case):
    payments = SimulatedPayment.objects.filter(reference=f"order-{case.order.pk}")
    assert payments.count() == 1  # one PaymentIntent, however the calls went
    assert case.order.payment_id == payments.get().gateway_id
    SimulatedGateway().customer_pays(payment_id=case.order.payment_id, approve=True)
    assert order_mark_authorized(order=case.order).status == S.REQUESTED


def _setup_capture(case):
    case.order = make_order()


def _act_capture(case):
    order_accept(order=case.order, by=case.order.freelancer)


def _check_capture(case):
    assert case.order.status == S.ACCEPTED
    assert SimulatedOperation.objects.filter(payment__reference=f"order-{case.order.pk}",
                                             operation="capture").count() == 1
    assert case.order.ledger.get(kind=K.CAPTURED).amount_cents == case.order.total_cents


def _act_cancel(case):
    order_decline(order=case.order, by=case.order.freelancer, reason="Booked out this week.")


def _check_cancel(case):
    assert case.order.status == S.DECLINED
    assert SimulatedPayment.objects.get(reference=f"order-{case.order.pk}").status == "canceled"
    assert SimulatedOperation.objects.filter(payment__reference=f"order-{case.order.pk}",
                                             operation="cancel").count() == 1


def _setup_refund(case):
    case.order = make_accepted()
    case.dispute = dispute_open(order=case.order, by=case.order.employer, reason="quality", description=DESCRIPTION)


def _act_refund_full(case):
    dispute_resolve(dispute=case.dispute, by=make_user(is_staff=True), outcome=Outcome.FULL_REFUND,
                    note="The design could not be used.")


def _act_refund_partial(case):
    dispute_resolve(dispute=case.dispute, by=make_user(is_staff=True), outcome=Outcome.PARTIAL_REFUND,
                    refund_cents=500, note="Two units were unusable.")


def _check_refund(expected_state, refunded):
    def check(case):
        payment = SimulatedPayment.objects.get(reference=f"order-{case.order.pk}")
        amount = refunded(case)
        assert payment.refunded_cents == amount  # refunded once
        assert sum(case.order.ledger.filter(kind=K.REFUNDED).values_list("amount_cents", flat=True)) == amount
        case.dispute.refresh_from_db()
        assert (case.order.status, case.dispute.status) == expected_state
    return check


def _setup_transfer(case):
    case.order = make_completed_order()
    connect_payouts(case.order.freelancer)
    case.payout = Payout.objects.get(order=case.order)
    case.due = case.payout.due_at + timedelta(minutes=1)


def _act_transfer(case):
    with time_machine.travel(case.due):
        payouts_run(now=case.due)


def _check_transfer(case):
    case.payout.refresh_from_db()
    assert case.payout.status == Payout.Status.TRANSFERRED
    assert SimulatedTransfer.objects.filter(transfer_group=f"order-{case.order.pk}").count() == 1
    assert case.order.ledger.get(kind=K.TRANSFERRED).amount_cents == case.payout.amount_cents


def _setup_reversal(case):
    _setup_transfer(case)
    _act_transfer(case)
    case.payout.refresh_from_db()
    assert case.payout.status == Payout.Status.TRANSFERRED


def _act_reversal(case):
    payout_reverse(payout=case.payout, by=make_user(is_staff=True), reason="The chargeback was lost.")


def _check_reversal(case):
    case.payout.refresh_from_db()
    assert (case.payout.status, case.payout.reversed_cents) == (Payout.Status.REVERSED, case.payout.amount_cents)
    assert SimulatedReversal.objects.count() == 1
    assert case.order.ledger.get(kind=K.REVERSED).amount_cents == case.payout.amount_cents


# step -> (gateway method that fails, set-up, the action, whether it took effect, checks)
STEPS = {
    "authorize": ("create_payment", _setup_authorize, _act_authorize, lambda c: bool(c.order.payment_id),
                  _check_authorize),
    "capture": ("capture", _setup_capture, _act_capture, lambda c: c.order.status == S.ACCEPTED, _check_capture),
    "cancel": ("cancel", _setup_capture, _act_cancel, lambda c: c.order.status == S.DECLINED, _check_cancel),
    "refund_full": ("refund", _setup_refund, _act_refund_full, lambda c: c.order.status == S.REFUNDED,
                    _check_refund((S.REFUNDED, "refunded"), lambda c: c.order.total_cents)),
    "refund_partial": ("refund", _setup_refund, _act_refund_partial, lambda c: c.order.status == S.COMPLETED,
                       _check_refund((S.COMPLETED, "partly_refunded"), lambda c: 500)),
    "transfer": ("create_transfer", _setup_transfer, _act_transfer,
                 lambda c: Payout.objects.get(order=c.order).status == Payout.Status.TRANSFERRED, _check_transfer),
    "reversal": ("reverse_transfer", _setup_reversal, _act_reversal,
                 lambda c: Payout.objects.get(order=c.order).reversed_cents > 0, _check_reversal),
}
RETRY = {"authorize": _retry_authorize}


def _attempt(action, case):
    """The person acts; a failure reaches them as a message (or, for a lost commit, an error
    page). Returns what they were told, for the record."""
    try:
        action(case)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return "ok"


def _recover():
    """The recovery job as it runs once the attempts' answers can no longer be on their way."""
    latest = MoneyOperation.objects.filter(state="started").order_by("-started_at").first()
    start = max(timezone.now(), latest.started_at) if latest else timezone.now()
    return money_recover(now=start + RECOVER_AFTER + timedelta(minutes=1))


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("step", list(STEPS))
def test_every_money_step_survives_every_fault(step, fault, monkeypatch, django_capture_on_commit_callbacks):
    method, setup, act, took_effect, check = STEPS[step]
    case = Case()
    setup(case)
    gateway = FaultyGateway(SimulatedGateway())
    use_gateway(monkeypatch, gateway)
    if fault == "commit_lost":
        lose_commit_once(monkeypatch)
    else:
        gateway.faults[method] = fault

    with django_capture_on_commit_callbacks(execute=True):
        told = _attempt(act, case)
        _recover()
        case.order.refresh_from_db()
        if not took_effect(case):  # nothing happened at the gateway: the person is told and tries again
            assert not MoneyOperation.objects.filter(order=case.order, state="started").exists(), told
            told += " / retried: " + _attempt(RETRY.get(step, act), case)
            _recover()
            case.order.refresh_from_db()

    assert took_effect(case), told
    assert not MoneyOperation.objects.filter(order=case.order, state="started").exists()
    check(case)
    case.order.refresh_from_db()
    assert reconcile().ok, reconcile().problems
    at_gateway = reconcile_gateway(order_ids=[case.order.pk], gateway=SimulatedGateway())
    assert at_gateway.ok, at_gateway.problems

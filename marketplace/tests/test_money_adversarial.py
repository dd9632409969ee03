"""Adversarial tests across every money step (orders, disputes, payouts at once).

What held under the reviewer's probes and is not covered elsewhere: every money page and
admin action with the payment service down is a page, never a 500; a step whose answer is
lost while the gateway then stays silent through the recovery job's first look-ups is
finished once it answers; and the recovery job racing the person's retry and staff's "ask
now" moves money at most once.

    python -m pytest marketplace/tests/test_money_adversarial.py
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError
from disputes.models import Chargeback
from disputes.services import Outcome, dispute_resolve
from disputes.tests.helpers import make_disputed
from listings.tests.helpers import make_published
from orders.models import Order
from orders.services import order_accept, order_create, order_decline, order_withdraw
from orders.tests.helpers import make_order, race, stl_upload
from payments.gateway import GatewayError
from payments.models import (
    MoneyOperation,
    SimulatedOperation,
    SimulatedPayment,
    SimulatedReversal,
    SimulatedTransfer,
)
from payments.operations import PaymentStepPending, money_operation_recover, money_recover
from payments.reconcile import reconcile, reconcile_gateway
from payments.simulated import SimulatedGateway
from payments.tests.faults import FaultyGateway, recover_later, use_gateway
from payouts.models import Payout
from payouts.services import payout_retry, payout_reverse, payouts_run
from payouts.tests.helpers import connect_payouts, make_completed_order, make_transferred

pytestmark = pytest.mark.django_db
S = Order.Status
P = Payout.Status


class Down:
    """A payment service that answers nothing: every call gets no answer (definite=False) or
    is refused (definite=True)."""

    name = "simulated"

    def __init__(self, *, definite: bool):
        self.definite = definite

    def __getattr__(self, method):
        def call(*args, **kwargs):
            raise GatewayError("The payment service is not available right now.", detail=f"{method}: down (injected)",
                               definite=self.definite)
        return call


def payment_of(order) -> SimulatedPayment:
    return SimulatedPayment.objects.get(reference=f"order-{order.pk}")


def refunds_at_the_gateway(order) -> int:
    return SimulatedOperation.objects.filter(payment=payment_of(order), operation__startswith="refund").count()


@pytest.mark.parametrize("definite", [False, True], ids=["no answer", "refused"])
def test_every_money_page_and_admin_action_with_the_payment_service_down_is_never_a_500(client, monkeypatch,
                                                                                       definite):
    """Sending a case, paying, accepting, declining, withdrawing, the earnings and payout
    pages, connecting payouts, resolving a dispute, reversing and retrying a transfer,
    releasing a chargeback's payout and asking the payment service now: with every call to
    the payment service failing, each answers with a page or a message."""
    staff = make_user(is_staff=True)
    requested = make_order()
    disputed, dispute = make_disputed()
    transferred, payout = make_transferred()
    listing = make_published()
    chargeback = Chargeback.objects.create(order=transferred, gateway_id="dp_1", amount_cents=100,
                                           reason="fraudulent", status="won")
    use_gateway(monkeypatch, Down(definite=definite))
    client.raise_request_exception = False
    answers = {}

    def visit(name, who, url, data=None):
        client.force_login(who)
        answers[name] = (client.post(url, data) if data is not None else client.get(url)).status_code

    visit("send case", requested.employer, reverse("orders:send_case", args=[listing.pk]),
          {"quantity": "1", "files": [stl_upload()]})
    new = Order.objects.filter(listing=listing).first()
    visit("pay", requested.employer, reverse("orders:pay", args=[new.pk]))
    visit("pay check", requested.employer, reverse("orders:pay_check", args=[new.pk]))
    visit("accept", requested.freelancer, reverse("orders:act", args=[requested.pk, "accept"]), {})
    visit("decline", requested.freelancer, reverse("orders:act", args=[requested.pk, "decline"]), {"reason": "Busy"})
    visit("withdraw", requested.employer, reverse("orders:act", args=[requested.pk, "withdraw"]), {})
    visit("order page", requested.employer, reverse("orders:detail", args=[requested.pk]))
    visit("earnings", transferred.freelancer, reverse("payouts:index"))
    visit("payout dashboard", transferred.freelancer, reverse("payouts:dashboard"))
    visit("onboarding", transferred.freelancer, reverse("payouts:onboarding"))
    visit("onboarding return", transferred.freelancer, reverse("payouts:onboarding_return"))
    visit("connect", make_user(), reverse("payouts:connect"), {"country": "DE"})
    for outcome in ("full_refund", "dismiss"):
        visit(f"resolve: {outcome}", staff, reverse("admin:disputes_dispute_resolve", args=[dispute.pk]),
              {"outcome": outcome, "note": "Decided."})
    payouts = reverse("admin:payouts_payout_changelist")
    visit("reverse transfer", staff, payouts, {"action": "reverse_transfer", "_selected_action": [str(payout.pk)],
                                               "apply": "1", "reason": "The chargeback was lost."})
    visit("retry transfer", staff, payouts, {"action": "retry_transfer", "_selected_action": [str(payout.pk)]})
    visit("release payout", staff, reverse("admin:disputes_chargeback_changelist"),
          {"action": "mark_handled_and_release", "_selected_action": [str(chargeback.pk)]})
    started = [str(pk) for pk in MoneyOperation.objects.values_list("pk", flat=True)]
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        visit("ask now", staff, reverse("admin:payments_moneyoperation_changelist"),
              {"action": "recover_now", "_selected_action": started})

    assert {name: status for name, status in answers.items() if status >= 500} == {}, answers
    assert payment_of(disputed).refunded_cents == 0 and not SimulatedReversal.objects.exists()


# --- a step whose answer is lost, then the gateway stays silent for a while ---------------------------------


def _authorize():
    listing, employer = make_published(), make_user()

    def done(order):
        assert SimulatedPayment.objects.filter(reference=f"order-{order.pk}").count() == 1
        assert order.payment_id == payment_of(order).gateway_id

    return "create_payment", 1, lambda: order_create(listing=listing, employer=employer), done


def _capture():
    order = make_order()

    def done(order):
        assert order.status == S.ACCEPTED
        assert SimulatedOperation.objects.filter(payment=payment_of(order), operation="capture").count() == 1

    return "capture", 0, lambda: order_accept(order=order, by=order.freelancer), done


def _release(action):
    def setup():
        order = make_order()
        act = {"decline": lambda: order_decline(order=order, by=order.freelancer, reason="Booked out."),
               "withdraw": lambda: order_withdraw(order=order, by=order.employer)}[action]

        def done(order):
            assert (order.status, payment_of(order).status) == ({"decline": S.DECLINED,
                                                                 "withdraw": S.WITHDRAWN}[action], "canceled")
            assert SimulatedOperation.objects.filter(payment=payment_of(order), operation="cancel").count() == 1

        return "cancel", 0, act, done
    return setup


def _refund(outcome):
    def setup():
        order, dispute = make_disputed()
        cents = order.total_cents if outcome == Outcome.FULL_REFUND else 500

        def done(order):
            assert order.status == (S.REFUNDED if outcome == Outcome.FULL_REFUND else S.COMPLETED)
            assert (payment_of(order).refunded_cents, refunds_at_the_gateway(order)) == (cents, 1)

        return "refund", 1, lambda: dispute_resolve(dispute=dispute, by=make_user(is_staff=True), outcome=outcome,
                                                    refund_cents=cents, note="Decided."), done
    return setup


def _transfer():
    order = make_completed_order()
    connect_payouts(order.freelancer)
    payout = Payout.objects.get(order=order)
    due = payout.due_at + timedelta(minutes=1)

    def act():
        with time_machine.travel(due):
            payouts_run(now=due)
            payouts_run(now=due + timedelta(minutes=1))  # the next run, while the answer is unknown

    def done(order):
        assert Payout.objects.get(order=order).status in (P.TRANSFERRED, P.PAID)
        assert SimulatedTransfer.objects.filter(transfer_group=f"order-{order.pk}").count() == 1

    return "create_transfer", 1, act, done


def _reversal():
    _, payout = make_transferred()

    def done(order):
        assert Payout.objects.get(order=order).status == P.REVERSED
        assert SimulatedReversal.objects.filter(transfer__transfer_group=f"order-{order.pk}").count() == 1

    return "reverse_transfer", 0, lambda: payout_reverse(
        payout=payout, by=make_user(is_staff=True), reason="The chargeback was lost."), done


LOOK_UP = {"create_payment": "create_payment", "capture": "retrieve", "cancel": "retrieve",
           "refund": "list_refunds", "create_transfer": "list_transfers", "reverse_transfer": "list_reversals"}
SILENT_STEPS = {
    "authorize": _authorize, "capture": _capture, "decline": _release("decline"), "withdraw": _release("withdraw"),
    "refund in full": _refund(Outcome.FULL_REFUND), "refund in part": _refund(Outcome.PARTIAL_REFUND),
    "transfer": _transfer, "reversal": _reversal,
}


@pytest.mark.parametrize("step", list(SILENT_STEPS))
def test_a_step_done_whose_gateway_then_stays_silent_is_finished_once_it_answers(
        step, monkeypatch, django_capture_on_commit_callbacks):
    """The gateway carries the call out, the answer is lost, and the gateway stays silent for
    the look-up right after it and for the recovery job's next two runs (each counts the
    attempt as waiting and leaves it started). Once it answers, the next run finishes the
    step: done once, and reconcile and reconcile --gateway are green."""
    method, answered_before, act, done = SILENT_STEPS[step]()
    look_up = LOOK_UP[method]
    gateway = FaultyGateway(SimulatedGateway(), {method: "lost_after"}, down={look_up: answered_before})
    use_gateway(monkeypatch, gateway)

    with django_capture_on_commit_callbacks(execute=True):
        with contextlib.suppress(PaymentStepPending):  # what the person is told (the payouts run and Send
            act()                                      # Case carry on quietly)
        order = MoneyOperation.objects.get(state="started").order
        silent = [recover_later(minutes) for minutes in (1, 2)]
        gateway.down.clear()
        answered = recover_later(3)

    assert silent == [{"succeeded": 0, "failed": 0, "waiting": 1, "errors": 0}] * 2
    assert answered == {"succeeded": 1, "failed": 0, "waiting": 0, "errors": 0}
    order.refresh_from_db()
    done(order)
    assert not MoneyOperation.objects.filter(state="started").exists()
    assert reconcile().ok, reconcile().problems
    assert reconcile_gateway(order_ids=[order.pk], gateway=SimulatedGateway()).ok


# --- the recovery job racing the person's retry ------------------------------------------------------------


def _race_capture(staff):
    order = make_order()
    return order, "capture", 0, lambda: order_accept(order=order, by=order.freelancer)


def _race_decline(staff):
    order = make_order()
    return order, "cancel", 0, lambda: order_decline(order=order, by=order.freelancer, reason="Busy.")


def _race_refund(staff):
    order, dispute = make_disputed()
    return order, "refund", 1, lambda: dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.PARTIAL_REFUND,
                                                       refund_cents=300, note="Some back.")


def _race_reversal(staff):
    order, payout = make_transferred()
    return order, "reverse_transfer", 0, lambda: payout_reverse(payout=payout, by=staff, reason="Lost chargeback.")


def _race_transfer(staff):
    order = make_completed_order()
    connect_payouts(order.freelancer)
    payout = Payout.objects.get(order=order)
    Payout.objects.filter(pk=payout.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    return order, "create_transfer", 1, lambda: payout_retry(payout=payout, by=staff)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("landed", [True, False], ids=["went through", "never arrived"])
@pytest.mark.parametrize("step", [_race_capture, _race_decline, _race_refund, _race_reversal, _race_transfer],
                         ids=["capture", "decline", "refund", "reversal", "transfer"])
def test_the_recovery_job_racing_the_persons_retry_and_ask_now_moves_money_at_most_once(step, landed):
    """A step's answer is lost (the call went through, or never arrived) and the look-up after
    it fails; ten minutes later the recovery job, the person retrying twice and staff's "ask
    now" run at the same moment. Nobody sees an error page, no attempt is left unknown, the
    money moved at most once (exactly once if the call went through), and everything
    reconciles."""
    staff = make_user(is_staff=True)
    order, method, answered_before, act = step(staff)
    faults = {method: "lost_after" if landed else "refused_before"}
    with pytest.MonkeyPatch.context() as patch:
        use_gateway(patch, FaultyGateway(SimulatedGateway(), faults, down={LOOK_UP[method]: answered_before}))
        with pytest.raises(ApplicationError):
            act()
    operation = MoneyOperation.objects.get(order=order, state="started")
    MoneyOperation.objects.filter(pk=operation.pk).update(started_at=timezone.now() - timedelta(minutes=11))

    outcomes = race(money_recover, act, act, lambda: money_operation_recover(operation=operation))

    assert not [o for o in outcomes if o is not None and not isinstance(o, ApplicationError)], outcomes
    assert not MoneyOperation.objects.filter(order=order, state="started").exists()
    order.refresh_from_db()
    moved = {
        "capture": SimulatedOperation.objects.filter(payment=payment_of(order), operation="capture").count(),
        "cancel": SimulatedOperation.objects.filter(payment=payment_of(order), operation="cancel").count(),
        "refund": refunds_at_the_gateway(order),
        "reverse_transfer": SimulatedReversal.objects.filter(transfer__transfer_group=f"order-{order.pk}").count(),
        "create_transfer": SimulatedTransfer.objects.filter(transfer_group=f"order-{order.pk}").count(),
    }[method]
    assert (moved == 1) if landed else (moved <= 1), outcomes
    assert reconcile().ok, reconcile().problems
    assert reconcile_gateway(order_ids=[order.pk]).ok

"""Adversarial regression tests for the orders' money steps and the recovery job.

Each test marked "Finding N" failed before its fix (the reviewer's probes of the recoverable
money operations); the others pin behaviour that held under the same probes and that the
rest of the suite does not cover: the recovery job's batch, back-off and error handling,
captures made or confirmed when the order can no longer take them, who may take the
parties' money steps, and the admin's money records staying read-only.
"""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError
from orders.deadlines import orders_sweep
from orders.models import Order
from orders.services import order_accept, order_decline, order_withdraw
from orders.tests.helpers import make_order, race
from orders.transitions import ACCEPT_GRACE
from payments import operations
from payments.models import LedgerEntry, MoneyOperation, SimulatedOperation, SimulatedPayment
from payments.operations import RECOVER_AFTER, PaymentStepPending, money_recover
from payments.reconcile import reconcile, reconcile_gateway
from payments.simulated import SimulatedGateway
from payments.tests.faults import FaultyGateway, recover_later, refunds_fail, use_gateway

pytestmark = pytest.mark.django_db
S = Order.Status
K = LedgerEntry.Kind
RECOVERED_ONE = {"succeeded": 1, "failed": 0, "waiting": 0, "errors": 0}


def lose_capture(monkeypatch, order: Order) -> MoneyOperation:
    """The designer accepts: the capture goes through at the gateway, but its answer and the
    look-up right after it are lost. Returns the attempt, still started."""
    gateway = FaultyGateway(SimulatedGateway(), {"capture": "lost_after", "retrieve": "refused_before"})
    with monkeypatch.context() as patch:
        use_gateway(patch, gateway)
        with pytest.raises(PaymentStepPending):
            order_accept(order=order, by=order.freelancer)
    return order.money_operations.get(kind=MoneyOperation.Kind.CAPTURE)


def payment_of(order: Order) -> SimulatedPayment:
    return SimulatedPayment.objects.get(reference=f"order-{order.pk}")


class LookUpRaises(SimulatedGateway):
    """The simulated gateway, except that looking one payment up raises something that is not
    a GatewayError (an SDK exception that escaped the wrapper)."""

    def __init__(self, payment_id: str):
        super().__init__()
        self.broken = payment_id

    def retrieve(self, payment_id):
        if payment_id == self.broken:
            raise ConnectionError("raw SDK error on the next page (injected)")
        return super().retrieve(payment_id)


# --- the recovery job --------------------------------------------------------------------------------------


def test_finding_2_the_check_counter_goes_past_the_small_integer_limit(monkeypatch):
    """Finding 2: `checks` was a PositiveSmallIntegerField; an attempt checked 32,767 times
    overflowed it, the run died there and no attempt was recovered any more. Now it counts on
    and the attempt is finished."""
    order = make_order()
    operation = lose_capture(monkeypatch, order)
    MoneyOperation.objects.filter(pk=operation.pk).update(checks=32767, last_checked_at=operation.started_at)

    counts = money_recover(now=operation.started_at + timedelta(hours=1))

    operation.refresh_from_db()
    order.refresh_from_db()
    assert counts == RECOVERED_ONE
    assert (operation.state, operation.checks) == ("succeeded", 32768)
    assert order.status == S.ACCEPTED


def test_finding_3_attempts_that_never_finish_do_not_crowd_out_a_newer_one(monkeypatch):
    """Finding 3: the job took the oldest attempts first, so a full batch of attempts that can
    never finish (here a finisher that fails for one order; a batch of one stands in for 200)
    hid every newer attempt for good. Now the least recently checked come first."""
    monkeypatch.setattr(operations, "RECOVER_BATCH", 1)
    stuck, healthy = make_order(), make_order()
    lose_capture(monkeypatch, stuck)
    operation = lose_capture(monkeypatch, healthy)
    real = operations.FINISHERS["order.accept"]

    def fails_for_one_order(*, operation, order, outcome):
        if order.pk == stuck.pk:
            raise RuntimeError("a bug for this order (injected)")
        return real(operation=operation, order=order, outcome=outcome)

    monkeypatch.setitem(operations.FINISHERS, "order.accept", fails_for_one_order)
    start = operation.started_at + RECOVER_AFTER

    runs = [money_recover(now=start + timedelta(minutes=minute)) for minute in (1, 2)]

    assert [run["errors"] for run in runs] == [1, 0]
    operation.refresh_from_db()
    healthy.refresh_from_db()
    assert (operation.state, healthy.status) == ("succeeded", S.ACCEPTED)
    assert stuck.money_operations.get(kind=MoneyOperation.Kind.CAPTURE).state == "started"


def test_finding_4_after_ten_checks_an_attempt_is_asked_after_2_4_8_minutes_then_hourly(monkeypatch):
    """Finding 4 (back-off): an attempt the gateway cannot tell about was asked every minute
    for ever. After ten checks it is asked again after 2, 4, 8 ... minutes, at most an hour
    apart; in between the run counts it as waiting without calling the gateway."""
    order = make_order()
    operation = lose_capture(monkeypatch, order)
    gateway = FaultyGateway(SimulatedGateway(), down={"retrieve": 0})  # the gateway cannot tell
    start = operation.started_at + RECOVER_AFTER
    MoneyOperation.objects.filter(pk=operation.pk).update(checks=10, last_checked_at=start)

    def asked(minutes):
        before = gateway.calls.count("retrieve")
        counts = money_recover(now=start + timedelta(minutes=minutes), gateway=gateway)
        assert counts["waiting"] == 1
        return gateway.calls.count("retrieve") > before

    # after 10 checks: 2 minutes; after 11: 4 minutes; after 12: 8 minutes
    assert [asked(minute) for minute in (1, 2, 3, 5, 6, 13, 14)] == [False, True, False, False, True, False, True]
    operation.refresh_from_db()
    assert operation.checks == 13

    late = start + timedelta(days=2)  # the wait stops growing at an hour
    MoneyOperation.objects.filter(pk=operation.pk).update(checks=40, last_checked_at=late)
    assert [asked(minute) for minute in (2 * 24 * 60 + 59, 2 * 24 * 60 + 60)] == [False, True]

    gateway.down.clear()  # the gateway can tell again
    assert money_recover(now=late + timedelta(hours=2), gateway=gateway) == RECOVERED_ONE
    order.refresh_from_db()
    assert order.status == S.ACCEPTED


def test_finding_4_a_look_up_or_finish_that_raises_is_noted_counted_and_the_run_goes_on(monkeypatch, caplog):
    """Finding 4 (errors): a look-up raising something other than a GatewayError stopped the
    whole run, every run, at the same attempt. Now any exception while looking an attempt up
    or finishing it is logged, written to the attempt's error and counted, the other attempts
    are finished, and a later run finishes the broken ones once the cause is gone."""
    raw, buggy, healthy = make_order(), make_order(), make_order()
    attempts = {order.pk: lose_capture(monkeypatch, order) for order in (raw, buggy, healthy)}
    real = operations.FINISHERS["order.accept"]

    def fails_for_one_order(*, operation, order, outcome):
        if order.pk == buggy.pk:
            raise KeyError("a bug in the finisher (injected)")
        return real(operation=operation, order=order, outcome=outcome)

    with monkeypatch.context() as patch:
        patch.setitem(operations.FINISHERS, "order.accept", fails_for_one_order)
        counts = money_recover(now=attempts[healthy.pk].started_at + RECOVER_AFTER + timedelta(minutes=1),
                               gateway=LookUpRaises(raw.payment_id))

    assert counts == {"succeeded": 1, "failed": 0, "waiting": 0, "errors": 2}
    for order in (raw, buggy, healthy):
        attempts[order.pk].refresh_from_db()
        order.refresh_from_db()
    assert attempts[raw.pk].state == attempts[buggy.pk].state == "started"
    assert attempts[raw.pk].error.startswith("Finishing failed (ConnectionError): raw SDK error")
    assert attempts[buggy.pk].error.startswith("Finishing failed (KeyError)")
    assert (raw.status, buggy.status, healthy.status) == (S.REQUESTED, S.REQUESTED, S.ACCEPTED)
    logged = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    assert {f"Finishing {attempts[order.pk].idempotency_key} failed" for order in (raw, buggy)} <= set(logged)

    assert recover_later()["succeeded"] == 2  # the bug is fixed, the gateway answers properly
    for order in (raw, buggy):
        order.refresh_from_db()
        assert order.status == S.ACCEPTED
    assert reconcile().ok, reconcile().problems


# --- captures the order can no longer take ----------------------------------------------------------------


def test_a_capture_made_outside_our_code_is_refunded_in_full_when_the_order_expires(
        django_capture_on_commit_callbacks):
    """The payment was captured in the gateway's dashboard while the order still waited for the
    designer; when the time to accept runs out, the release finds the money captured: the
    order expires and the capture is recorded and refunded in full, once."""
    order = make_order()
    SimulatedGateway().capture(payment_id=order.payment_id, idempotency_key="captured-in-the-dashboard")

    with django_capture_on_commit_callbacks(execute=True):
        result = orders_sweep(now=order.accept_by + timedelta(seconds=1))

    order.refresh_from_db()
    assert result.expired == [order.pk] and order.status == S.EXPIRED
    assert order.ledger.get(kind=K.CAPTURED).amount_cents == order.total_cents
    assert order.ledger.get(kind=K.REFUNDED).amount_cents == order.total_cents
    assert payment_of(order).refunded_cents == order.total_cents
    assert SimulatedOperation.objects.filter(payment=payment_of(order), operation__startswith="refund").count() == 1
    assert reconcile().ok, reconcile().problems
    assert reconcile_gateway(order_ids=[order.pk]).ok


def test_a_late_capture_whose_refund_answer_is_lost_too_is_refunded_once_by_a_later_run(
        monkeypatch, django_capture_on_commit_callbacks):
    """A capture confirmed after the time to accept (and its grace) ran out is refunded in full;
    when that refund's answer is lost as well, the order is already expired and the next run
    confirms the refund: the client is refunded exactly once, and everything reconciles."""
    order = make_order()
    lose_capture(monkeypatch, order)
    late = order.accept_by + ACCEPT_GRACE + timedelta(minutes=1)
    gateway = FaultyGateway(SimulatedGateway(), {"refund": "lost_after"}, down={"list_refunds": 0})

    use_gateway(monkeypatch, gateway)
    with time_machine.travel(late):
        with django_capture_on_commit_callbacks(execute=True):  # the refund is made once this commits
            money_recover()
        order.refresh_from_db()
        assert order.status == S.EXPIRED
        refund = order.money_operations.get(kind=MoneyOperation.Kind.REFUND)
        assert refund.state == "started" and payment_of(order).refunded_cents == order.total_cents
        gateway.down.clear()
        assert recover_later()["succeeded"] == 1

    refund.refresh_from_db()
    assert refund.state == "succeeded"
    assert order.ledger.get(kind=K.REFUNDED).amount_cents == order.total_cents
    assert SimulatedOperation.objects.filter(payment=payment_of(order), operation__startswith="refund").count() == 1
    assert reconcile(now=late).ok, reconcile(now=late).problems
    assert reconcile_gateway(order_ids=[order.pk], gateway=SimulatedGateway()).ok


def test_a_late_capture_whose_refund_fails_alerts_staff_and_blocks_nothing(
        monkeypatch, django_capture_on_commit_callbacks):
    """A capture confirmed too late whose refund the gateway answers as failed (a closed card
    account): the order expires, no attempt is left blocking it, staff are e-mailed, and
    reconcile stays red for the order until they return the money another way."""
    staff = make_user(is_staff=True)
    order = make_order()
    lose_capture(monkeypatch, order)
    refunds_fail(monkeypatch)
    late = order.accept_by + ACCEPT_GRACE + timedelta(minutes=5)
    mail.outbox.clear()

    with time_machine.travel(late), django_capture_on_commit_callbacks(execute=True):
        money_recover()

    order.refresh_from_db()
    assert order.status == S.EXPIRED
    assert not order.money_operations.filter(state="started").exists()
    assert order.money_operations.get(kind=MoneyOperation.Kind.REFUND).state == "failed"
    assert [m.subject for m in mail.outbox if m.to == [staff.email]] == [
        f"[CadCam Masters] Money needs a look: order #{order.pk}: "
        "A refund of money captured after the order ended failed"]
    assert any(f"Order #{order.pk}" in problem for problem in reconcile(now=late).problems)


@pytest.mark.django_db(transaction=True)
def test_two_recovery_runs_at_once_retry_a_late_captures_lost_refund_once(monkeypatch):
    """The refund of a late capture never reached the gateway; the scheduled run and staff's
    "ask now" (two recovery runs) find that out at the same moment: exactly one new refund
    attempt is made, and the client is refunded once. Raced three times."""
    for _ in range(3):
        order = make_order()
        lose_capture(monkeypatch, order)
        Order.objects.filter(pk=order.pk).update(accept_by=timezone.now() - timedelta(hours=2))
        with monkeypatch.context() as patch:  # the refund it leads to never reaches the gateway
            use_gateway(patch, FaultyGateway(SimulatedGateway(), {"refund": "refused_before"},
                                             down={"list_refunds": 0}))
            recover_later()
        lost = order.money_operations.get(kind=MoneyOperation.Kind.REFUND)
        assert lost.state == "started"

        # The clock itself moves on (not only the runs' `now`), so the attempt a run starts is
        # as young as it would be: the other run must not take it for one whose answer was lost.
        with time_machine.travel(lost.started_at + RECOVER_AFTER + timedelta(minutes=1), tick=True):
            outcomes = race(money_recover, money_recover)

        assert outcomes == [None, None]
        order.refresh_from_db()
        assert order.status == S.EXPIRED
        assert payment_of(order).refunded_cents == order.total_cents
        assert SimulatedOperation.objects.filter(payment=payment_of(order),
                                                 operation__startswith="refund").count() == 1
        assert list(order.money_operations.filter(kind=MoneyOperation.Kind.REFUND).order_by("attempt")
                    .values_list("state", flat=True)) == ["failed", "succeeded"]
    assert reconcile().ok, reconcile().problems


# --- who may act, and what the admin may touch -----------------------------------------------------------


def test_staff_and_strangers_cannot_take_the_parties_money_steps(client):
    """Accepting, declining and withdrawing belong to the order's parties: staff (superusers)
    and strangers are refused, in the services and on the order page, and nothing is started
    at the gateway."""
    order = make_order()
    stranger, staff = make_user(), make_user(is_staff=True)
    for who in (order.employer, stranger, staff):
        with pytest.raises(ApplicationError, match="Only the designer of this order"):
            order_accept(order=order, by=who)
        with pytest.raises(ApplicationError, match="Only the designer of this order"):
            order_decline(order=order, by=who, reason="Busy")
    for who in (order.freelancer, stranger, staff):
        with pytest.raises(ApplicationError, match="Only the client who sent this case"):
            order_withdraw(order=order, by=who)

    client.force_login(staff)  # staff may open the order page, not act as a party
    for action in ("accept", "decline", "withdraw"):
        assert client.post(reverse("orders:act", args=[order.pk, action]), {"reason": "x"}).status_code == 302
    client.force_login(stranger)
    assert client.post(reverse("orders:act", args=[order.pk, "accept"])).status_code == 404

    order.refresh_from_db()
    assert order.status == S.REQUESTED
    assert payment_of(order).status == "requires_capture"
    assert not order.money_operations.filter(kind__in=["capture", "cancel"]).exists()


def test_money_records_cannot_be_edited_or_deleted_in_the_admin(client):
    """The ledger and the money operations are read-only in the admin, even for a superuser: a
    forged change form changes nothing and there is no delete action."""
    order = make_order()
    entry = order.ledger.get(kind=K.AUTHORIZED)
    operation = order.money_operations.get()
    client.force_login(make_user(is_staff=True))

    client.post(reverse("admin:payments_ledgerentry_change", args=[entry.pk]),
                {"kind": "refunded", "amount_cents": "1"})
    client.post(reverse("admin:payments_moneyoperation_change", args=[operation.pk]),
                {"state": "failed", "amount_cents": "1"})
    for url, pk in (("admin:payments_ledgerentry_changelist", entry.pk),
                    ("admin:payments_moneyoperation_changelist", operation.pk)):
        client.post(reverse(url), {"action": "delete_selected", "_selected_action": [str(pk)], "post": "yes"})
        assert client.post(reverse(url.replace("changelist", "delete"), args=[pk]), {"post": "yes"}).status_code == 403

    entry.refresh_from_db()
    operation.refresh_from_db()
    assert (entry.kind, entry.amount_cents) == (K.AUTHORIZED, order.total_cents)
    assert (operation.state, operation.amount_cents) == ("succeeded", order.total_cents)

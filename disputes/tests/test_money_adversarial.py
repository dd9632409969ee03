"""Adversarial regression tests for disputes, chargebacks and the money admin.

Each test marked "Finding N" failed before its fix (the reviewer's probes of the recoverable
money operations): refunds that change while a dispute refund is being confirmed, finishers
that re-checked the deciding staff member's role, decisions after everything was refunded
elsewhere, money admin actions open to view-only staff, chargebacks during a transfer, a
refund found at the gateway after its attempt was marked failed, finishers that raise, and a
dispute refund the recovery job finds failed. The others pin behaviour that held under the
same probes and that the rest of the suite does not cover.
"""

from datetime import timedelta

import pytest
import time_machine
from django.contrib import messages
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.services import user_delete
from accounts.tests.helpers import PASSWORD, make_user, make_view_only_staff
from cadcam.errors import ApplicationError, InvalidTransition
from disputes.models import Chargeback, Dispute
from disputes.services import Outcome, chargeback_handle, chargeback_record, dispute_resolve
from disputes.tests.helpers import make_disputed
from orders.deadlines import orders_sweep
from orders.models import Order
from orders.services import order_accept
from orders.tests.helpers import make_order, race
from payments import operations
from payments.gateway import CardDispute
from payments.models import LedgerEntry, MoneyOperation, SimulatedOperation, SimulatedPayment, SimulatedTransfer
from payments.operations import RECOVER_AFTER, PaymentStepPending
from payments.reconcile import reconcile, reconcile_gateway
from payments.refunds import charge_refunded
from payments.simulated import SimulatedGateway
from payments.tests.faults import FaultyGateway, no_answer, recover_later, use_gateway
from payouts.models import Payout
from payouts.services import payout_retry, payout_reverse, payouts_run
from payouts.tests.helpers import connect_payouts, make_completed_order, make_transferred

pytestmark = pytest.mark.django_db
S = Order.Status
K = LedgerEntry.Kind
P = Payout.Status
RECOVERED_ONE = {"succeeded": 1, "failed": 0, "waiting": 0, "errors": 0}
PENDING = ("A payment step for this order is being confirmed with the payment service. Nothing else can change "
           "until then; try again in a few minutes.")


@pytest.fixture
def staff():
    return make_user(is_staff=True)


def refund_answer_lost(monkeypatch) -> FaultyGateway:
    """A dispute refund goes through at the gateway, but its answer and the look-up right
    after it are lost (the check for refunds made elsewhere before it still answers). Clear
    the returned gateway's `down` to have the look-ups answer again."""
    gateway = FaultyGateway(SimulatedGateway(), {"refund": "lost_after"}, down={"list_refunds": 1})
    use_gateway(monkeypatch, gateway)
    return gateway


def staff_alerts(staff, order) -> list[str]:
    prefix = f"[CadCam Masters] Money needs a look: order #{order.pk}: "
    return [m.subject.removeprefix(prefix) for m in mail.outbox if m.to == [staff.email]]


def charge_refunded_event(order) -> dict:
    """Stripe's charge.refunded event for the order's payment."""
    return {"data": {"object": {"id": "ch_1", "payment_intent": order.payment_id}}}


def refunded_in_ledger(order) -> list[int]:
    return sorted(order.ledger.filter(kind=K.REFUNDED).values_list("amount_cents", flat=True))


def payment_of(order) -> SimulatedPayment:
    return SimulatedPayment.objects.get(reference=f"order-{order.pk}")


# --- Finding 1: the money changed while the dispute refund was being confirmed ----------------------------


def test_finding_1_a_refund_made_elsewhere_meanwhile_sends_the_decision_back_to_staff(
        staff, monkeypatch, django_capture_on_commit_callbacks):
    """Staff decide a partial refund; its answer is lost. Meanwhile a refund is made in Stripe's
    dashboard and recorded from its event. When the recovery job confirms our refund, it is
    recorded, but the decision (taken on another picture) is not applied: the dispute stays
    open and staff are e-mailed to decide again, which they then can."""
    order, dispute = make_disputed()
    gateway = refund_answer_lost(monkeypatch)
    with pytest.raises(PaymentStepPending):
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.PARTIAL_REFUND, refund_cents=1000,
                        note="The designer keeps the rest.")
    gateway.down.clear()
    SimulatedGateway().refund(payment_id=order.payment_id, amount_cents=400, idempotency_key="made-in-the-dashboard")
    charge_refunded(charge_refunded_event(order))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert recover_later() == RECOVERED_ONE

    order.refresh_from_db()
    dispute.refresh_from_db()
    assert (order.status, dispute.status, order.owed_cents) == (S.DISPUTED, Dispute.Status.OPEN, None)
    assert refunded_in_ledger(order) == [400, 1000]
    assert staff_alerts(staff, order) == ["A dispute refund was confirmed, but the decision needs staff again"]
    assert not [m for m in mail.outbox if "Decision on the dispute" in m.subject]

    dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND, note="Refunded in full after all.")

    order.refresh_from_db()
    assert order.status == S.REFUNDED
    assert payment_of(order).refunded_cents == sum(refunded_in_ledger(order)) == order.total_cents
    assert reconcile().ok, reconcile().problems
    assert reconcile_gateway(order_ids=[order.pk]).ok


# --- Finding 5: the deciding staff member's role is not checked again when the refund finishes ------------


@pytest.mark.parametrize("leaves", ["demoted", "deleted their account"])
def test_finding_5_a_refund_confirmed_after_the_deciding_staff_member_left_still_decides(
        leaves, staff, monkeypatch, django_capture_on_commit_callbacks):
    """The full refund went through at the gateway but its answer was lost; before the recovery
    job confirms it, the staff member who decided loses the staff role or deletes their
    account. The finisher no longer checks their role again (it was checked when they
    decided), so the refund is recorded and the decision applied in their name."""
    order, dispute = make_disputed()
    gateway = refund_answer_lost(monkeypatch)
    with pytest.raises(PaymentStepPending):
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND, note="The design was unusable.")
    gateway.down.clear()
    if leaves == "demoted":
        staff.is_staff = staff.is_superuser = False
        staff.save(update_fields=["is_staff", "is_superuser"])
    else:
        user_delete(user=staff, password=PASSWORD)

    with django_capture_on_commit_callbacks(execute=True):
        assert recover_later() == RECOVERED_ONE

    order.refresh_from_db()
    dispute.refresh_from_db()
    assert (order.status, dispute.status, dispute.resolved_by) == (S.REFUNDED, Dispute.Status.REFUNDED, staff)
    assert refunded_in_ledger(order) == [order.total_cents]
    assert reconcile().ok, reconcile().problems


# --- Finding 6: everything was refunded at the gateway already ---------------------------------------------


def test_finding_6_a_full_refund_decision_after_everything_was_refunded_elsewhere_is_recorded(
        staff, django_capture_on_commit_callbacks):
    """The whole payment was refunded in Stripe's dashboard. The first decision records that
    refund and is refused, as for any refund made elsewhere; a full refund decided then is
    recorded without asking the gateway for another (it used to ask for a refund of 0 and
    fail, leaving the dispute impossible to decide)."""
    order, dispute = make_disputed()
    SimulatedGateway().refund(payment_id=order.payment_id, amount_cents=order.total_cents,
                              idempotency_key="made-in-the-dashboard")
    with pytest.raises(ApplicationError, match="It is recorded now"):
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND, note="Refund.")

    with django_capture_on_commit_callbacks(execute=True):
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND, note="Refunded at Stripe already.")

    order.refresh_from_db()
    dispute.refresh_from_db()
    assert (order.status, dispute.status, dispute.refunded_cents) == (
        S.REFUNDED, Dispute.Status.REFUNDED, order.total_cents)
    assert not order.money_operations.filter(kind=MoneyOperation.Kind.REFUND).exists()
    assert payment_of(order).refunded_cents == order.total_cents
    assert len([m for m in mail.outbox if "Decision on the dispute" in m.subject]) == 2
    assert reconcile().ok, reconcile().problems
    assert reconcile_gateway(order_ids=[order.pk]).ok


# --- Finding 7: money admin actions need the change permission -------------------------------------------


def _transferred_payout():
    order, payout = make_transferred()
    return "payout", payout.pk, lambda: (
        Payout.objects.get(pk=payout.pk).status == P.TRANSFERRED
        and not order.money_operations.filter(kind=MoneyOperation.Kind.REVERSAL).exists())


def _due_payout():
    order = make_completed_order()
    connect_payouts(order.freelancer)
    payout = Payout.objects.get(order=order)
    Payout.objects.filter(pk=payout.pk).update(status=P.DUE, due_at=timezone.now() - timedelta(days=1),
                                               last_error="The platform's balance was short.")
    return "payout", payout.pk, lambda: not SimulatedTransfer.objects.exists()


def _held_chargeback():
    order = make_completed_order()
    Payout.objects.filter(order=order).update(status=P.ON_HOLD)
    chargeback = Chargeback.objects.create(order=order, gateway_id="dp_1", amount_cents=order.total_cents,
                                           reason="fraudulent", status="won", payout_frozen=True)
    return "chargeback", chargeback.pk, lambda: (
        Chargeback.objects.get(pk=chargeback.pk).handled_at is None
        and Payout.objects.get(order=order).status == P.ON_HOLD)


def _stale_capture():
    order = make_order()
    gateway = FaultyGateway(SimulatedGateway(), {"capture": "lost_after", "retrieve": "refused_before"})
    with pytest.MonkeyPatch.context() as patch:
        use_gateway(patch, gateway)
        with pytest.raises(PaymentStepPending):
            order_accept(order=order, by=order.freelancer)
    operation = order.money_operations.get(kind=MoneyOperation.Kind.CAPTURE)
    MoneyOperation.objects.filter(pk=operation.pk).update(started_at=timezone.now() - 2 * RECOVER_AFTER)
    return "moneyoperation", operation.pk, lambda: MoneyOperation.objects.get(pk=operation.pk).checks == 0


@pytest.mark.parametrize(("action", "setup"), [
    ("reverse_transfer", _transferred_payout),
    ("retry_transfer", _due_payout),
    ("mark_handled", _held_chargeback),
    ("mark_handled_and_release", _held_chargeback),
    ("recover_now", _stale_capture),
])
def test_finding_7_staff_who_may_only_view_cannot_run_money_admin_actions(client, action, setup):
    """Staff with only the view permission on payouts, chargebacks or money operations are
    not offered the actions that move money or release it, and posting one anyway does
    nothing."""
    model, pk, unchanged = setup()
    app = {"payout": "payouts", "chargeback": "disputes", "moneyoperation": "payments"}[model]
    changelist = reverse(f"admin:{app}_{model}_changelist")
    client.force_login(make_view_only_staff(model))

    page = client.get(changelist)
    assert page.status_code == 200
    form = page.context["action_form"]
    offered = [name for name, _ in form.fields["action"].choices] if form else []
    assert action not in offered

    answer = client.post(changelist, {"action": action, "_selected_action": [str(pk)], "apply": "1",
                                      "reason": "I may only look."})
    assert answer.status_code < 500
    assert unchanged()


def test_staff_who_may_only_view_disputes_cannot_resolve_one_in_the_admin(client):
    """The dispute's resolve form checks the change permission: view-only staff are told they
    may not, and nothing is refunded."""
    order, dispute = make_disputed()
    client.force_login(make_view_only_staff("dispute"))

    page = client.post(reverse("admin:disputes_dispute_resolve", args=[dispute.pk]),
                       {"outcome": "full_refund", "note": "I may only look."}, follow=True)

    assert "You may not resolve disputes." in [str(m) for m in page.context["messages"]]
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN
    assert payment_of(order).refunded_cents == 0


# --- Finding 8: a chargeback while the transfer is on its way --------------------------------------------


def test_finding_8_a_chargeback_during_a_transfer_does_not_claim_the_payout_is_held(
        monkeypatch, django_capture_on_commit_callbacks):
    """The transfer's answer is lost; a chargeback arrives before the recovery job confirms the
    transfer. The chargeback is not marked as holding the payout (the money was on its way and
    did leave); and a chargeback marked as holding a payout that was transferred anyway is
    reported by reconcile, so staff can reverse the transfer."""
    order = make_completed_order()
    connect_payouts(order.freelancer)
    payout = Payout.objects.get(order=order)
    due = payout.due_at + timedelta(minutes=1)
    gateway = FaultyGateway(SimulatedGateway(), {"create_transfer": "lost_after"}, down={"list_transfers": 1})
    use_gateway(monkeypatch, gateway)
    with time_machine.travel(due):
        payouts_run(now=due)
    assert order.money_operations.get(kind=MoneyOperation.Kind.TRANSFER).state == "started"

    chargeback = chargeback_record(dispute=CardDispute(
        id="dp_1", charge_id=order.ledger.get(kind=K.CAPTURED).gateway_id, payment_id=order.payment_id,
        amount_cents=order.total_cents, reason="fraudulent", status="needs_response"))

    assert not chargeback.payout_frozen
    gateway.down.clear()
    with time_machine.travel(due), django_capture_on_commit_callbacks(execute=True):
        recover_later()
    payout.refresh_from_db()
    assert payout.status == P.TRANSFERRED
    assert SimulatedTransfer.objects.filter(transfer_group=f"order-{order.pk}").count() == 1
    held = (f"Order #{order.pk}: chargeback dp_1 says the payout is held, but it was transferred: take it back "
            "with \"Reverse the transfer\" if the chargeback is lost")
    assert held not in reconcile(now=due).problems

    Chargeback.objects.filter(pk=chargeback.pk).update(payout_frozen=True)  # what was recorded before the fix
    assert held in reconcile(now=due).problems


@pytest.mark.django_db(transaction=True)
def test_a_transfer_racing_a_chargeback_never_leaves_a_held_chargeback_with_money_sent():
    """The payouts run, staff's retry and a chargeback on the same order at the same moment:
    whichever wins, a chargeback never says the payout is held while a transfer was sent.
    Raced three times."""
    staff = make_user(is_staff=True)
    for n in range(3):
        order = make_completed_order()
        connect_payouts(order.freelancer)
        payout = Payout.objects.get(order=order)
        due = payout.due_at + timedelta(minutes=1)
        card = CardDispute(id=f"dp_race_{n}", charge_id=order.ledger.get(kind=K.CAPTURED).gateway_id,
                           payment_id=order.payment_id, amount_cents=order.total_cents, reason="fraudulent",
                           status="needs_response")

        outcomes = race(lambda due=due: payouts_run(now=due), lambda card=card: chargeback_record(dispute=card),
                        lambda payout=payout: payout_retry(payout=payout, by=staff))

        assert not [o for o in outcomes if o is not None and not isinstance(o, ApplicationError)], outcomes
        chargeback = Chargeback.objects.get(gateway_id=card.id)
        sent = SimulatedTransfer.objects.filter(transfer_group=f"order-{order.pk}").count()
        assert sent <= 1
        assert not (chargeback.payout_frozen and sent), (outcomes, Payout.objects.get(pk=payout.pk).status)


# --- Finding 9: a refund found at the gateway after its attempt was marked failed -------------------------


@pytest.mark.parametrize("found_by", ["charge.refunded", "deciding again"])
def test_finding_9_a_refund_marked_failed_that_lands_later_finishes_its_decision(
        found_by, staff, monkeypatch, django_capture_on_commit_callbacks):
    """The partial refund's request times out and the gateway shows nothing, even to the
    recovery job, which marks the attempt failed. Then the gateway carries it out after all.
    Found by Stripe's charge.refunded event, or when staff decide again, it finishes the
    attempt as the success it was: the decision it was for is applied, and no second refund
    is made."""
    order, dispute = make_disputed()
    real = SimulatedGateway.refund
    requested = []

    def on_its_way(self, **kwargs):
        requested.append(kwargs)
        raise no_answer()

    monkeypatch.setattr(SimulatedGateway, "refund", on_its_way)
    with pytest.raises(PaymentStepPending):
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.PARTIAL_REFUND, refund_cents=500,
                        note="Two units were unusable.")
    monkeypatch.setattr(SimulatedGateway, "refund", real)
    with django_capture_on_commit_callbacks(execute=True):
        assert recover_later()["failed"] == 1
    operation = order.money_operations.get(kind=MoneyOperation.Kind.REFUND)
    assert operation.state == "failed"
    late = real(SimulatedGateway(), **requested[0])  # ... and then it lands

    with django_capture_on_commit_callbacks(execute=True):
        if found_by == "charge.refunded":
            charge_refunded(charge_refunded_event(order))
        else:
            with pytest.raises(InvalidTransition, match="already resolved"):
                dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.PARTIAL_REFUND, refund_cents=500,
                                note="Two units were unusable.")

    operation.refresh_from_db()
    order.refresh_from_db()
    dispute.refresh_from_db()
    assert (operation.state, operation.gateway_id) == ("succeeded", late.id)
    assert (order.status, dispute.status, dispute.refunded_cents) == (S.COMPLETED, Dispute.Status.PARTLY_REFUNDED,
                                                                      500)
    assert refunded_in_ledger(order) == [500]
    assert payment_of(order).refunded_cents == 500
    assert reconcile().ok, reconcile().problems
    assert reconcile_gateway(order_ids=[order.pk]).ok


# --- Finding 12: a finisher that raises --------------------------------------------------------------------


def _capture_step(staff):
    order = make_order()
    return order, "order.accept", lambda: order_accept(order=order, by=order.freelancer), S.ACCEPTED


def _refund_step(staff):
    order, dispute = make_disputed()
    return order, "dispute.resolve", lambda: dispute_resolve(
        dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND, note="Refund."), S.REFUNDED


def _reversal_step(staff):
    order, payout = make_transferred()
    return order, "payout.reverse", lambda: payout_reverse(payout=payout, by=staff, reason="Lost chargeback."), (
        S.COMPLETED)


@pytest.mark.parametrize("step", [_capture_step, _refund_step, _reversal_step], ids=["capture", "refund", "reversal"])
def test_finding_12_a_finisher_that_raises_leaves_the_step_being_confirmed_with_the_reason(
        step, staff, monkeypatch, client, django_capture_on_commit_callbacks):
    """The gateway did it, but recording the outcome raises (a bug in the finisher). The person
    is told the step is being confirmed (not an error page, nor a refusal: the money moved),
    the reason is on the attempt for staff, "Ask the payment service now" shows it as a
    message instead of a 500, reconcile reports the attempt after an hour, and once the bug
    is gone the recovery job finishes it."""
    order, purpose, act, finished = step(staff)

    def broken(**kwargs):
        raise KeyError("a bug in the finisher (injected)")

    with monkeypatch.context() as patch:
        patch.setitem(operations.FINISHERS, purpose, broken)
        with pytest.raises(PaymentStepPending) as told:
            act()
        assert told.value.message == PENDING
        operation = order.money_operations.order_by("-pk").first()
        assert operation.state == "started"
        assert operation.error == "Finishing failed (KeyError): 'a bug in the finisher (injected)'"

        client.force_login(staff)
        with time_machine.travel(operation.started_at + RECOVER_AFTER + timedelta(minutes=1)):
            page = client.post(reverse("admin:payments_moneyoperation_changelist"),
                               {"action": "recover_now", "_selected_action": [str(operation.pk)]}, follow=True)
        assert page.status_code == 200
        assert [str(m) for m in page.context["messages"]] == [
            f"{operation}: The payment service answered, but recording it failed: 'a bug in the finisher "
            "(injected)'. The error is on the attempt; the recovery job tries again."]
        report = reconcile(now=operation.started_at + timedelta(hours=1, minutes=1))
        assert any(operation.idempotency_key in problem and "still unknown" in problem for problem in report.problems)

    with django_capture_on_commit_callbacks(execute=True):
        assert recover_later() == RECOVERED_ONE
    order.refresh_from_db()
    assert order.status == finished
    assert reconcile().ok, reconcile().problems


# --- Finding 14: a dispute refund the recovery job finds failed ---------------------------------------------


def test_finding_14_a_dispute_refund_the_recovery_job_finds_failed_is_e_mailed_to_staff(
        staff, monkeypatch, django_capture_on_commit_callbacks):
    """Staff decided a full refund and were told it is being confirmed; the refund then failed
    at the card's bank. When the recovery job finds it failed, the dispute stays open and
    staff are e-mailed to decide again (before, nobody was told)."""
    order, dispute = make_disputed()
    gateway = refund_answer_lost(monkeypatch)
    with pytest.raises(PaymentStepPending):
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND, note="Refund.")
    operation = order.money_operations.get(kind=MoneyOperation.Kind.REFUND)
    SimulatedOperation.objects.filter(idempotency_key=operation.idempotency_key).update(status_after="failed")
    gateway.down.clear()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert recover_later()["failed"] == 1

    operation.refresh_from_db()
    order.refresh_from_db()
    dispute.refresh_from_db()
    assert operation.state == "failed"
    assert (order.status, dispute.status) == (S.DISPUTED, Dispute.Status.OPEN)
    assert refunded_in_ledger(order) == []
    assert staff_alerts(staff, order) == ["A dispute refund did not go through: decide again"]
    alert = next(m for m in mail.outbox if m.to == [staff.email])
    assert operation.idempotency_key in alert.body and "The dispute is still open." in alert.body


# --- what held: tampered input, who may act, decisions racing the money's events --------------------------


@pytest.mark.parametrize(("typed", "refunded"), [
    (" 5 ", 500), ("-5.00", 0), ("0", 0), ("1e9", 0), ("99999999999999999999", 0), ("NaN", 0), ("Infinity", 0),
    ("12.345", 0), ("5,00", 0),
])
def test_a_tampered_partial_refund_amount_in_the_admin_is_refused_or_exact(client, staff, typed, refunded):
    """What staff type as a partial refund is either a valid amount, refunded exactly, or
    refused with a message: never a 500, never a refund of another amount."""
    order, dispute = make_disputed()
    client.force_login(staff)

    page = client.post(reverse("admin:disputes_dispute_resolve", args=[dispute.pk]),
                       {"outcome": "partial_refund", "refund": typed, "note": "Some back."}, follow=True)

    assert page.status_code == 200
    dispute.refresh_from_db()
    assert payment_of(order).refunded_cents == sum(refunded_in_ledger(order)) == refunded
    assert dispute.status == (Dispute.Status.PARTLY_REFUNDED if refunded else Dispute.Status.OPEN)
    if not refunded:
        told = list(page.context["messages"])
        assert told and all(m.level == messages.ERROR for m in told), told
    assert reconcile().ok, reconcile().problems


def test_only_staff_handle_a_chargeback_or_release_its_payout(staff):
    """The parties cannot mark a chargeback handled or release the payout it holds."""
    order = make_completed_order()
    Payout.objects.filter(order=order).update(status=P.ON_HOLD)
    chargeback = Chargeback.objects.create(order=order, gateway_id="dp_1", amount_cents=order.total_cents,
                                           reason="fraudulent", status="won", payout_frozen=True)
    for who in (order.employer, order.freelancer, make_user()):
        for release in (True, False):
            with pytest.raises(ApplicationError, match="Only staff"):
                chargeback_handle(chargeback=chargeback, by=who, release_payout=release)
    chargeback.refresh_from_db()
    assert chargeback.handled_at is None and Payout.objects.get(order=order).status == P.ON_HOLD


@pytest.mark.django_db(transaction=True)
def test_decisions_racing_the_sweep_and_a_refund_event_move_money_once():
    """A full refund, a dismissal and a partial refund decided by two staff members, the
    deadline sweep and Stripe's charge.refunded event (for a refund made in the dashboard, in
    odd rounds) on the same dispute at once: no one sees an error page, what the gateway
    refunded is what the ledger says, and no attempt is left unknown. Raced three times."""
    first, second = make_user(is_staff=True), make_user(is_staff=True)
    for n in range(3):
        order, dispute = make_disputed()
        if n % 2:
            SimulatedGateway().refund(payment_id=order.payment_id, amount_cents=100, idempotency_key=f"dash-{n}")

        outcomes = race(
            lambda d=dispute: dispute_resolve(dispute=d, by=first, outcome=Outcome.FULL_REFUND, note="Refund."),
            lambda d=dispute: dispute_resolve(dispute=d, by=second, outcome=Outcome.DISMISS, note="Dismiss."),
            lambda d=dispute: dispute_resolve(dispute=d, by=second, outcome=Outcome.PARTIAL_REFUND, note="Part.",
                                              refund_cents=300),
            lambda: orders_sweep(now=timezone.now() + timedelta(days=40)),
            lambda o=order: charge_refunded(charge_refunded_event(o)),
        )

        assert not [o for o in outcomes if o is not None and not isinstance(o, ApplicationError)], outcomes
        order.refresh_from_db()
        assert payment_of(order).refunded_cents == sum(refunded_in_ledger(order)), outcomes
        assert not order.money_operations.filter(state="started").exists()
    assert not [p for p in reconcile().problems if "still open" not in p]

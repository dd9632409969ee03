"""Opening disputes, staff decisions, their money and ledger, chargebacks."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError, InvalidTransition
from disputes.models import Chargeback, Dispute
from disputes.services import (
    Outcome,
    chargeback_funds_moved,
    chargeback_handle,
    chargeback_record,
    dispute_open,
    dispute_resolve,
)
from disputes.tests.helpers import DESCRIPTION, make_accepted, make_delivered
from messaging.models import Conversation
from messaging.services import conversation_for_dispute, message_send
from orders.deadlines import orders_sweep
from orders.models import Order, OrderEvent
from orders.services import order_auto_complete, order_complete, order_remind_to_complete
from orders.tests.helpers import make_order, race, stl_upload
from payments.fees import platform_fee_cents
from payments.gateway import CardDispute, GatewayError
from payments.models import LedgerEntry, SimulatedPayment
from payments.reconcile import reconcile
from payments.simulated import SimulatedGateway
from payouts.models import Payout
from payouts.services import payouts_open, payouts_run
from payouts.tests.helpers import connect_payouts, make_completed_order

pytestmark = pytest.mark.django_db
S = Order.Status
K = LedgerEntry.Kind


def card_dispute(charge_id: str, *, status: str = "needs_response", amount: int = 8500):
    return CardDispute(id="dp_1", charge_id=charge_id, payment_id="", amount_cents=amount, reason="fraudulent",
                       status=status)


def on_commit():
    return TestCase.captureOnCommitCallbacks(execute=True)


def open_dispute(order, **kwargs):
    return dispute_open(order=order, by=order.employer, reason=kwargs.pop("reason", Dispute.Reason.QUALITY),
                        description=kwargs.pop("description", DESCRIPTION), **kwargs)


@pytest.fixture
def staff():
    return make_user(is_staff=True)


# --- opening ------------------------------------------------------------------------------------------


def test_the_employer_opens_a_dispute_on_a_delivered_order(staff):
    order = make_delivered()
    with on_commit():
        dispute = open_dispute(order, files=[stl_upload("photo-of-margin.stl")])
    order.refresh_from_db()
    assert order.status == S.DISPUTED
    assert (dispute.order_status_before, dispute.status) == (S.DELIVERED, Dispute.Status.OPEN)
    event = OrderEvent.objects.get(order=order, to_status=S.DISPUTED)
    assert event.actor == order.employer and event.description == "Dispute opened; automatic completion paused"
    thread = Conversation.objects.get(key=f"dispute:{dispute.pk}")
    first = thread.messages.get()
    assert first.body == DESCRIPTION and [a.name for a in first.attachments.all()] == ["photo-of-margin.stl"]
    recipients = {tuple(message.to) for message in mail.outbox}
    assert (order.freelancer.email,) in recipients and (staff.email,) in recipients
    assert (order.employer.email,) not in recipients


@pytest.mark.parametrize("state", ["pending_payment", "requested", "completed"])
def test_a_dispute_is_refused_before_acceptance_and_after_completion(state):
    order = make_completed_order() if state == "completed" else make_order(authorized=state == "requested")
    with pytest.raises(InvalidTransition):
        open_dispute(order)
    assert not Dispute.objects.exists()
    order.refresh_from_db()
    assert order.status == state


def test_only_the_employer_may_open_a_dispute():
    order = make_accepted()
    for someone in (order.freelancer, make_user(), make_user(is_staff=True)):
        with pytest.raises(ApplicationError, match="Only the client"):
            dispute_open(order=order, by=someone, reason="quality", description=DESCRIPTION)
    assert not Dispute.objects.exists()


@pytest.mark.parametrize(("reason", "description", "message"), [
    ("quality", "Too short", "Describe the problem in 20"),
    ("made-up", DESCRIPTION, "Choose what the dispute is about"),
])
def test_bad_input_is_refused_with_a_message(reason, description, message):
    order = make_accepted()
    with pytest.raises(ApplicationError, match=message):
        dispute_open(order=order, by=order.employer, reason=reason, description=description)
    order.refresh_from_db()
    assert order.status == S.ACCEPTED


def test_a_bad_file_refuses_the_whole_dispute():
    from django.core.files.uploadedfile import SimpleUploadedFile

    order = make_accepted()
    with pytest.raises(ApplicationError, match="does not match its file type"):
        open_dispute(order, files=[SimpleUploadedFile("scan.stl", b"not a mesh at all")])
    order.refresh_from_db()
    assert order.status == S.ACCEPTED
    assert not Dispute.objects.exists() and not Conversation.objects.filter(kind="dispute").exists()


def test_a_dispute_cannot_be_opened_twice(staff):
    order = make_accepted()
    open_dispute(order)
    with pytest.raises(ApplicationError, match="already open"):
        open_dispute(order)


@pytest.mark.parametrize("allowed", [False, True])
def test_after_a_dismissal_a_new_dispute_needs_staff_permission(staff, allowed):
    order = make_accepted()
    dispute = open_dispute(order)
    dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.DISMISS, note="Work is within the brief.",
                    allow_another=allowed)
    order.refresh_from_db()
    if allowed:
        assert open_dispute(order).is_open
    else:
        with pytest.raises(ApplicationError, match="already decided"):
            open_dispute(order)


def test_auto_completion_pauses_while_in_dispute():
    order = make_accepted()
    open_dispute(order)
    order.refresh_from_db()
    result = orders_sweep(now=order.auto_complete_at + dt.timedelta(days=1))
    assert result.completed == []
    order.refresh_from_db()
    assert order.status == S.DISPUTED


# --- resolutions ----------------------------------------------------------------------------------------


def test_a_full_refund_returns_everything_pays_nothing_and_reconciles(staff):
    order = make_delivered()
    dispute = open_dispute(order)
    with on_commit():
        dispute = dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND,
                                  note="The design does not match the prescription.")
    order.refresh_from_db()
    assert (order.status, dispute.status, dispute.refunded_cents) == (S.REFUNDED, "refunded", order.total_cents)
    assert order.refunded_at is not None and order.ended_at == order.refunded_at
    refund = order.ledger.get(kind=K.REFUNDED)
    assert (refund.amount_cents, refund.gateway_id.startswith("sim_re_")) == (order.total_cents, True)
    assert not order.ledger.filter(kind=K.FEE).exists()
    assert not Payout.objects.filter(order=order).exists()
    assert SimulatedPayment.objects.get().refunded_cents == order.total_cents
    decided = [m for m in mail.outbox if "Decision on the dispute" in m.subject]
    assert sorted(m.to[0] for m in decided) == sorted([order.employer.email, order.freelancer.email])
    assert "does not match the prescription" in decided[0].body
    assert reconcile().ok


def test_a_partial_refund_completes_the_order_with_the_fee_on_the_rest(staff):
    order = make_delivered()
    connect_payouts(order.freelancer)
    dispute = open_dispute(order)
    refund = order.total_cents // 2
    dispute = dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.PARTIAL_REFUND, refund_cents=refund,
                              note="Half of the units were unusable.")
    order.refresh_from_db()
    rest = order.total_cents - refund
    fee = platform_fee_cents(rest)
    assert (order.status, dispute.status) == (S.COMPLETED, "partly_refunded")
    assert order.ledger.get(kind=K.REFUNDED).amount_cents == refund
    assert order.ledger.get(kind=K.FEE).amount_cents == fee
    assert order.owed_cents == rest - fee
    payouts_open()  # the scheduled run opens the payout of what the order owes
    payout = Payout.objects.get(order=order)
    assert payout.amount_cents == rest - fee
    assert reconcile().ok
    with time_machine.travel(order.payout_due_at + dt.timedelta(minutes=1)):
        payouts_run()
    assert order.ledger.get(kind=K.TRANSFERRED).amount_cents == rest - fee
    assert reconcile().ok


@pytest.mark.parametrize("left", [None, "all", "nothing", "only the minimum fee"])
def test_a_partial_refund_must_leave_the_designer_something(staff, left):
    order = make_delivered()
    amount = {None: None, "all": 0, "nothing": order.total_cents, "only the minimum fee": order.total_cents - 349}[left]
    dispute = open_dispute(order)
    with pytest.raises(ApplicationError, match="partial refund must be"):
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.PARTIAL_REFUND, refund_cents=amount,
                        note="Split.")
    order.refresh_from_db()
    assert order.status == S.DISPUTED
    assert not order.ledger.filter(kind=K.REFUNDED).exists()


def test_a_dismissal_restores_the_state_and_moves_the_deadline_by_the_time_in_dispute(staff):
    order = make_delivered()
    deadline = order.auto_complete_at
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        dispute = open_dispute(order)
    with time_machine.travel(timezone.now() + dt.timedelta(days=7)):
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.DISMISS, note="Delivered as agreed.")
    order.refresh_from_db()
    assert order.status == S.DELIVERED
    dispute.refresh_from_db()
    paused = dispute.resolved_at - dispute.opened_at
    assert abs(paused - dt.timedelta(days=5)) < dt.timedelta(seconds=5)
    assert order.auto_complete_at == deadline + paused
    assert OrderEvent.objects.filter(order=order, from_status=S.DISPUTED).get().description == (
        "Dispute dismissed; the order goes on")
    assert reconcile().ok


def test_resolutions_need_staff_a_note_and_an_open_dispute(staff):
    order = make_accepted()
    dispute = open_dispute(order)
    with pytest.raises(ApplicationError, match="Only staff"):
        dispute_resolve(dispute=dispute, by=order.employer, outcome=Outcome.FULL_REFUND, note="Mine")
    with pytest.raises(ApplicationError, match="resolution note"):
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND, note="   ")
    with pytest.raises(ApplicationError, match="Choose how"):
        dispute_resolve(dispute=dispute, by=staff, outcome="split-the-difference", note="x")
    dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND, note="Refunded.")
    with pytest.raises(InvalidTransition, match="already resolved"):
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND, note="Again.")
    assert LedgerEntry.objects.filter(kind=K.REFUNDED).count() == 1


def test_a_refund_made_elsewhere_is_recorded_before_any_decision_and_never_repeated(staff):
    order = make_accepted()
    dispute = open_dispute(order)
    # A refund the gateway made that our ledger does not know (made in Stripe's dashboard, say).
    SimulatedGateway().refund(payment_id=order.payment_id, amount_cents=500, idempotency_key="dashboard-refund")
    with pytest.raises(ApplicationError, match=r"A refund of \$5.00 was made .* It is recorded now"):
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.PARTIAL_REFUND, refund_cents=700, note="x")
    assert order.ledger.get(kind=K.REFUNDED).amount_cents == 500
    # Dismissing now would pay the designer money the client got back.
    with pytest.raises(ApplicationError, match=r"\$5.00 of this payment was refunded already"):
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.DISMISS, note="No.")

    dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.PARTIAL_REFUND, refund_cents=200, note="A bit more.")

    order.refresh_from_db()
    assert SimulatedPayment.objects.get().refunded_cents == 700  # 500 + 200, nothing twice
    assert sorted(order.ledger.filter(kind=K.REFUNDED).values_list("amount_cents", flat=True)) == [200, 500]
    assert (order.status, order.owed_cents) == (S.COMPLETED, order.total_cents - 700 - order.ledger.get(
        kind=K.FEE).amount_cents)
    assert reconcile().ok


def test_a_refused_refund_changes_nothing_and_a_retry_is_a_new_attempt(staff, monkeypatch):
    order = make_accepted()
    dispute = open_dispute(order)
    keys = []
    real = SimulatedGateway.refund

    def flaky(self, **kwargs):
        keys.append(kwargs["idempotency_key"])
        if len(keys) == 1:
            raise GatewayError("The refund was refused by the card network.")
        return real(self, **kwargs)

    monkeypatch.setattr(SimulatedGateway, "refund", flaky)
    with pytest.raises(ApplicationError, match=r"refused by the card network\. Nothing was changed"):
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND, note="Refund.")
    order.refresh_from_db()
    assert order.status == S.DISPUTED
    dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND, note="Refund.")
    # A new key for the new attempt: Stripe would replay the first one's refusal for a day.
    assert keys == [f"refund:order-{order.pk}:1", f"refund:order-{order.pk}:2"]
    assert reconcile().ok


@pytest.mark.django_db(transaction=True)
def test_a_dispute_racing_auto_completion_has_exactly_one_outcome():
    order = make_delivered()
    due = order.auto_complete_at + dt.timedelta(minutes=1)
    outcomes = race(
        lambda: open_dispute(order),
        lambda: order_auto_complete(order=order, now=due),
    )
    order.refresh_from_db()
    assert sum(outcome is None for outcome in outcomes) == 1
    if order.status == S.DISPUTED:
        assert Dispute.objects.filter(order=order).count() == 1 and not Payout.objects.exists()
    else:
        assert order.status == S.COMPLETED and not Dispute.objects.exists()
    assert reconcile().ok


@pytest.mark.django_db(transaction=True)
def test_a_resolution_racing_the_sweep_has_exactly_one_outcome():
    order = make_delivered()
    staff = make_user(is_staff=True)
    dispute = open_dispute(order)
    late = order.auto_complete_at + dt.timedelta(minutes=1)  # the old deadline has passed
    outcomes = race(
        lambda: dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND, note="Refunded."),
        lambda: order_auto_complete(order=order, now=late),
    )
    order.refresh_from_db()
    assert outcomes[0] is None and isinstance(outcomes[1], InvalidTransition)
    assert order.status == S.REFUNDED
    assert OrderEvent.objects.filter(order=order, to_status=S.COMPLETED).count() == 0
    assert reconcile().ok


# --- admin ------------------------------------------------------------------------------------------------


def test_staff_resolve_from_the_admin_form(client, staff):
    order = make_delivered()
    dispute = open_dispute(order)
    client.force_login(staff)
    page = client.get(reverse("admin:disputes_dispute_change", args=[dispute.pk]))
    assert "Resolve the dispute" in page.text
    url = reverse("admin:disputes_dispute_resolve", args=[dispute.pk])
    refused = client.post(url, {"outcome": "partial_refund", "refund": "", "note": "Split"}, follow=True)
    assert "Enter the amount to refund." in refused.text
    client.post(url, {"outcome": "partial_refund", "refund": "5.00", "note": "Some back."})
    dispute.refresh_from_db()
    assert (dispute.status, dispute.refunded_cents) == ("partly_refunded", 500)
    assert reconcile().ok


# --- chargebacks ---------------------------------------------------------------------------------------


def test_a_chargeback_freezes_an_untransferred_payout_and_alerts_staff(staff):
    order = make_completed_order()
    charge = order.ledger.get(kind=K.CAPTURED).gateway_id
    with on_commit():
        chargeback = chargeback_record(dispute=card_dispute(charge))
        chargeback_record(dispute=card_dispute(charge))  # a repeated event
    assert Chargeback.objects.count() == 1 and chargeback.payout_frozen
    payout = Payout.objects.get(order=order)
    assert payout.status == Payout.Status.ON_HOLD
    alerted = [m.to[0] for m in mail.outbox if "Chargeback" in m.subject]
    assert staff.email in alerted and len(alerted) == len(set(alerted))  # once each, despite the repeat
    assert order.freelancer.email not in alerted
    with time_machine.travel(order.payout_due_at + dt.timedelta(minutes=1)):
        connect_payouts(order.freelancer)
        payouts_run()
        payout.refresh_from_db()
        assert payout.status == Payout.Status.ON_HOLD  # frozen: not sent
        assert reconcile().ok  # held, with the chargeback as its reason

        chargeback_handle(chargeback=chargeback, by=staff, release_payout=True)
        payouts_run()
    payout.refresh_from_db()
    assert payout.status == Payout.Status.TRANSFERRED


def test_a_chargeback_on_an_unknown_charge_is_ignored():
    assert chargeback_record(dispute=card_dispute("ch_nobody")) is None


def test_a_chargeback_on_an_order_in_progress_holds_its_payout_when_it_completes(staff):
    order = make_delivered()
    chargeback = chargeback_record(dispute=card_dispute(order.ledger.get(kind=K.CAPTURED).gateway_id))
    assert chargeback.payout_frozen
    order_complete(order=order, by=order.employer)
    payouts_open()
    payout = Payout.objects.get(order=order)
    assert payout.status == Payout.Status.ON_HOLD
    with time_machine.travel(payout.due_at + dt.timedelta(hours=2)):
        connect_payouts(order.freelancer)
        payouts_run()
        assert Payout.objects.get(order=order).status == Payout.Status.ON_HOLD
        assert reconcile().ok


def test_a_lost_chargeback_is_in_the_ledger_and_reported_as_a_loss(staff):
    from io import StringIO

    from django.core.management import call_command

    order = make_completed_order()
    charge = order.ledger.get(kind=K.CAPTURED).gateway_id
    lost = card_dispute(charge, status="lost", amount=order.total_cents)
    chargeback_funds_moved(dispute=lost, withdrawn=True)
    chargeback_funds_moved(dispute=lost, withdrawn=True)  # a repeated event
    assert order.ledger.get(kind=K.CHARGED_BACK).amount_cents == order.total_cents
    report = reconcile()
    assert report.ok and [loss for loss in report.losses if f"#{order.pk}" in loss]
    out = StringIO()
    call_command("reconcile", stdout=out)
    assert "lost a chargeback" in out.getvalue()

    chargeback_funds_moved(dispute=card_dispute(charge, status="won", amount=order.total_cents), withdrawn=False)
    assert reconcile().losses == []


def test_after_a_dismissal_the_client_is_reminded_again_before_the_new_date(staff):
    order = make_delivered()
    order_remind_to_complete(order=order)
    dispute = open_dispute(order)
    dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.DISMISS, note="Delivered as agreed.")
    order.refresh_from_db()
    assert order.complete_reminder_sent_at is None



def test_the_admin_list_shows_disputes_waiting_for_staff(client, staff):
    order = make_accepted()
    dispute = open_dispute(order)
    client.force_login(staff)
    listing = client.get(reverse("admin:disputes_dispute_changelist"))
    assert listing.context["cl"].result_list[0].last_by_staff is False  # the employer wrote last
    message_send(conversation=conversation_for_dispute(order=order, dispute_id=dispute.pk), sender=staff,
                 body="We are looking at the files.")
    listing = client.get(reverse("admin:disputes_dispute_changelist"))
    assert listing.context["cl"].result_list[0].last_by_staff is True


def test_the_designer_sees_money_on_hold_on_the_earnings_page(client):
    order = make_completed_order()
    chargeback_record(dispute=card_dispute(order.ledger.get(kind=K.CAPTURED).gateway_id))
    client.force_login(order.freelancer)
    page = client.get(reverse("payouts:index"))
    assert 'data-testid="total-on-hold"' in page.text

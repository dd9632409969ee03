"""Recoverable money operations seen from disputes and chargebacks (issue 13): refunds whose
answer is lost, refunds made elsewhere or failed afterwards, lost chargebacks, chargeback
fees, keys per attempt, and reconciliation's blind spots around them."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail

from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError
from disputes.models import Chargeback, Dispute
from disputes.services import (
    Outcome,
    chargeback_funds_moved,
    chargeback_handle,
    chargeback_record,
    dispute_open,
    dispute_resolve,
)
from disputes.tests.helpers import DESCRIPTION, make_accepted
from listings.tests.helpers import make_published
from orders.models import Order
from orders.services import order_accept, order_create, order_mark_authorized
from payments.fees import platform_fee_cents
from payments.gateway import CardDispute, GatewayError
from payments.ledger import ledger_record
from payments.models import LedgerEntry, MoneyOperation, SimulatedOperation, SimulatedPayment, StripeEvent
from payments.operations import RECOVER_AFTER, PaymentStepPending, money_recover
from payments.reconcile import reconcile
from payments.refunds import MADE_ELSEWHERE
from payments.simulated import SimulatedGateway
from payments.tests.helpers import API, deliver, event, form, stripe_list, stub_payment_intent
from payouts.models import Payout
from payouts.services import payouts_open, payouts_run
from payouts.tests.helpers import connect_payouts, make_completed_order

pytestmark = pytest.mark.django_db
S = Order.Status
K = LedgerEntry.Kind
P = Payout.Status

PENDING = ("A payment step for this order is being confirmed with the payment service. Nothing else can change "
           "until then; try again in a few minutes.")
UNAVAILABLE = "The payment service is not available right now."
RECOVERED_ONE = {"succeeded": 1, "failed": 0, "waiting": 0, "errors": 0}
LOST_CHARGEBACK = ("The card holder's bank kept the disputed money (the chargeback was lost): the designer's payout "
                   "stays on hold. Mark it handled without releasing.")


@pytest.fixture
def staff():
    return make_user(is_staff=True)


def open_dispute(order):
    return dispute_open(order=order, by=order.employer, reason=Dispute.Reason.QUALITY, description=DESCRIPTION)


def no_answer() -> GatewayError:
    return GatewayError(UNAVAILABLE, detail="APIConnectionError: read timed out", definite=False)


def refund_answers_lost(monkeypatch):
    """From now on a refund goes through at the simulated gateway but its answer is lost, and
    so is every look-up of refunds after it, until the returned function is called."""
    real_refund, real_list = SimulatedGateway.refund, SimulatedGateway.list_refunds
    quiet = []

    def refund(self, **kwargs):
        real_refund(self, **kwargs)
        quiet.append(True)
        raise no_answer()

    def list_refunds(self, payment_id):
        if quiet:
            raise no_answer()
        return real_list(self, payment_id)

    monkeypatch.setattr(SimulatedGateway, "refund", refund)
    monkeypatch.setattr(SimulatedGateway, "list_refunds", list_refunds)

    def answers_back():
        monkeypatch.setattr(SimulatedGateway, "refund", real_refund)
        monkeypatch.setattr(SimulatedGateway, "list_refunds", real_list)

    return answers_back


def after_recovery_delay(operation: MoneyOperation):
    return time_machine.travel(operation.started_at + RECOVER_AFTER + dt.timedelta(minutes=1))


def card_dispute(charge_id: str, *, amount: int, status: str = "needs_response") -> CardDispute:
    return CardDispute(id="dp_1", charge_id=charge_id, payment_id="", amount_cents=amount, reason="fraudulent",
                       status=status)


# --- 2. a refund whose answer is lost, then staff try to dismiss ---------------------------------------------


@pytest.mark.parametrize("outcome", [Outcome.FULL_REFUND, Outcome.PARTIAL_REFUND])
def test_a_refund_whose_answer_is_lost_blocks_a_dismissal_and_recovery_decides_as_staff_asked(
        staff, monkeypatch, django_capture_on_commit_callbacks, outcome):
    order = make_accepted()
    dispute = open_dispute(order)
    answers_back = refund_answers_lost(monkeypatch)
    refund_cents = order.total_cents if outcome == Outcome.FULL_REFUND else 600

    with pytest.raises(PaymentStepPending) as pending:
        dispute_resolve(dispute=dispute, by=staff, outcome=outcome, refund_cents=refund_cents,
                        note="The design does not match the prescription.")
    assert pending.value.message == PENDING
    assert SimulatedPayment.objects.get().refunded_cents == refund_cents  # the money went back
    operation = order.money_operations.get(kind=MoneyOperation.Kind.REFUND)
    assert (operation.idempotency_key, operation.state) == (f"refund:order-{order.pk}:1", "started")

    # Another staff member dismisses meanwhile: refused while the refund's outcome is unknown.
    answers_back()
    with pytest.raises(PaymentStepPending) as refused:
        dispute_resolve(dispute=dispute, by=make_user(is_staff=True), outcome=Outcome.DISMISS, note="Fine as is.")
    assert refused.value.message == PENDING
    dispute.refresh_from_db()
    order.refresh_from_db()
    assert (dispute.status, order.status) == (Dispute.Status.OPEN, S.DISPUTED)
    assert not order.ledger.filter(kind=K.REFUNDED).exists()  # our own refund is not taken for a foreign one

    with after_recovery_delay(operation):
        with django_capture_on_commit_callbacks(execute=True):
            assert money_recover() == RECOVERED_ONE
        payouts_open()
    dispute.refresh_from_db()
    order.refresh_from_db()
    refund = order.ledger.get(kind=K.REFUNDED)
    assert refund.amount_cents == refund_cents
    assert (dispute.resolved_by, dispute.resolution_note) == (staff, "The design does not match the prescription.")
    assert dispute.refunded_cents == refund_cents
    if outcome == Outcome.FULL_REFUND:
        assert (dispute.status, order.status) == (Dispute.Status.REFUNDED, S.REFUNDED)
        assert not Payout.objects.filter(order=order).exists()
        assert not order.ledger.filter(kind=K.FEE).exists()
    else:
        kept = order.total_cents - refund_cents
        assert (dispute.status, order.status) == (Dispute.Status.PARTLY_REFUNDED, S.COMPLETED)
        assert Payout.objects.get(order=order).amount_cents == kept - platform_fee_cents(kept)
    decided = [m for m in mail.outbox if f"Decision on the dispute about order #{order.pk}" in m.subject]
    assert sorted(m.to[0] for m in decided) == sorted([order.employer.email, order.freelancer.email])
    assert reconcile().problems == []


def test_a_refund_made_elsewhere_is_recorded_before_a_dismissal_which_is_then_refused(
        staff, django_capture_on_commit_callbacks):
    order = make_accepted()
    dispute = open_dispute(order)
    foreign = SimulatedGateway().refund(payment_id=order.payment_id, amount_cents=500,
                                        idempotency_key="made-in-the-dashboard")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError) as adopted:
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.DISMISS, note="Delivered as agreed.")

    assert adopted.value.message == (
        "A refund of $5.00 was made for this order at the payment service but not recorded here. It is recorded "
        "now: look at the order again and decide with it in mind.")
    recorded = order.ledger.get(kind=K.REFUNDED)
    assert (recorded.amount_cents, recorded.gateway_id, recorded.note) == (500, foreign.id, MADE_ELSEWHERE)
    alerted = [m for m in mail.outbox if m.to == [staff.email]]
    assert [m.subject for m in alerted] == [
        f"[CadCam Masters] Money needs a look: order #{order.pk}: A refund made outside CadCam Masters was recorded"]

    with pytest.raises(ApplicationError) as refused:
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.DISMISS, note="Delivered as agreed.")

    assert refused.value.message == (
        "$5.00 of this payment was refunded already: dismissing would pay the designer money the client got back. "
        "Refund in full or in part.")
    dispute.refresh_from_db()
    order.refresh_from_db()
    assert (dispute.status, order.status) == (Dispute.Status.OPEN, S.DISPUTED)
    assert order.ledger.filter(kind=K.REFUNDED).count() == 1
    assert not MoneyOperation.objects.filter(kind=MoneyOperation.Kind.REFUND).exists()


# --- 3. a refund the gateway lists as failed is not counted (Stripe, stubbed) -----------------------------------


@pytest.fixture
def stripe_dispute(stripe_api):
    """An order paid through Stripe, accepted, and disputed by its client."""
    listing = make_published()
    stub_payment_intent(stripe_api, amount=listing.price_cents)
    order = order_mark_authorized(order=order_create(listing=listing, employer=make_user()))
    order = order_accept(order=order, by=order.freelancer)
    stripe_api.get(f"{API}/refunds", json=stripe_list("/v1/refunds"))  # none made elsewhere
    return open_dispute(order)


def refund_json(order, status: str) -> dict:
    return {"id": "re_1", "object": "refund", "amount": order.total_cents, "currency": "usd", "status": status,
            "payment_intent": "pi_1", "metadata": {"operation": f"refund:order-{order.pk}:1"}}


def test_a_refund_the_gateway_answers_as_failed_leaves_the_dispute_open(stripe_api, stripe_dispute, staff):
    dispute = stripe_dispute
    order = dispute.order
    stripe_api.post(f"{API}/refunds", json=refund_json(order, "failed"))

    with pytest.raises(ApplicationError) as refused:
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND, note="Refund it.")

    assert refused.value.message == ("The refund was refused by the payment service. Nothing was changed; please "
                                     "try again.")
    made = [call for call in stripe_api.calls if call.request.method == "POST" and call.request.url.endswith(
        "/refunds")]
    assert len(made) == 1
    key = f"refund:order-{order.pk}:1"
    assert made[0].request.headers["Idempotency-Key"] == key
    assert form(made[0]) == {"payment_intent": "pi_1", "amount": str(order.total_cents),
                             "metadata[operation]": key}
    dispute.refresh_from_db()
    order.refresh_from_db()
    assert (dispute.status, order.status) == (Dispute.Status.OPEN, S.DISPUTED)
    assert not order.ledger.filter(kind=K.REFUNDED).exists()
    operation = order.money_operations.get(kind=MoneyOperation.Kind.REFUND)
    assert (operation.state, operation.error) == ("failed", "refund re_1 is failed")
    assert reconcile().problems == []


def test_a_recorded_refund_that_fails_later_is_balanced_once_alerts_staff_and_reconcile_reports_it(
        stripe_api, stripe_dispute, staff, client):
    dispute = stripe_dispute
    order = dispute.order
    stripe_api.post(f"{API}/refunds", json=refund_json(order, "succeeded"))
    dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND, note="Refund it.")
    order.refresh_from_db()
    assert order.status == S.REFUNDED
    assert reconcile().problems == []
    stripe_api.get(f"{API}/refunds/re_1", json=refund_json(order, "failed"))
    mail.outbox.clear()
    payload = {"id": "re_1", "object": "refund", "status": "failed"}

    deliver(client, event("evt_refund_failed", "charge.refund.updated", payload), connect=False)
    deliver(client, event("evt_refund_failed_again", "charge.refund.updated", payload), connect=False)

    assert [StripeEvent.objects.get(event_id=e).outcome for e in ("evt_refund_failed", "evt_refund_failed_again")] == [
        f"order #{order.pk}: refund re_1 failed, recorded",
        f"order #{order.pk}: refund re_1 failure already recorded",
    ]
    failed = order.ledger.get(kind=K.REFUND_FAILED)
    assert (failed.amount_cents, failed.gateway_id) == (order.total_cents, "re_1")
    alerts = [m for m in mail.outbox if m.to == [staff.email]]
    assert [m.subject for m in alerts] == [
        f"[CadCam Masters] Money needs a look: order #{order.pk}: A refund failed: the client has not got the money "
        "back"]
    assert f"Refund re_1 of {order.total_cents} cents is failed." in alerts[0].body
    assert reconcile().problems == [
        f"Order #{order.pk} (refunded): captured {order.total_cents} != refunded 0 + fee 0 + transferred 0 + held 0"]


# --- 4. a lost chargeback keeps the payout ------------------------------------------------------------------------


@pytest.mark.parametrize("lost", ["status lost", "funds withdrawn"])
def test_a_lost_chargeback_cannot_release_the_payout(staff, lost):
    order = make_completed_order()
    charge = order.ledger.get(kind=K.CAPTURED).gateway_id
    if lost == "status lost":
        chargeback = chargeback_record(dispute=card_dispute(charge, amount=order.total_cents, status="lost"))
    else:  # under review, but the bank took the money and has not given it back
        chargeback = chargeback_funds_moved(dispute=card_dispute(charge, amount=order.total_cents,
                                                                 status="under_review"), withdrawn=True)
    connect_payouts(order.freelancer)
    assert Payout.objects.get(order=order).status == P.ON_HOLD

    with pytest.raises(ApplicationError) as refused:
        chargeback_handle(chargeback=chargeback, by=staff, release_payout=True)

    assert refused.value.message == LOST_CHARGEBACK
    chargeback.refresh_from_db()
    assert chargeback.handled_at is None
    with time_machine.travel(order.payout_due_at + dt.timedelta(minutes=1)):
        assert payouts_run()["transferred"] == 0
    payout = Payout.objects.get(order=order)
    assert (payout.status, payout.transfer_id) == (P.ON_HOLD, "")
    assert not order.ledger.filter(kind=K.TRANSFERRED).exists()


def test_a_chargeback_whose_funds_were_reinstated_can_release_the_payout(staff):
    order = make_completed_order()
    charge = order.ledger.get(kind=K.CAPTURED).gateway_id
    chargeback_funds_moved(dispute=card_dispute(charge, amount=order.total_cents, status="under_review"),
                           withdrawn=True)
    chargeback = chargeback_funds_moved(dispute=card_dispute(charge, amount=order.total_cents, status="won"),
                                        withdrawn=False)
    connect_payouts(order.freelancer)

    chargeback_handle(chargeback=chargeback, by=staff, release_payout=True)

    with time_machine.travel(order.payout_due_at + dt.timedelta(minutes=1)):
        assert payouts_run()["transferred"] == 1
    assert Payout.objects.get(order=order).status == P.TRANSFERRED
    assert reconcile().problems == []


# --- 7. reconcile's blind spots (disputes and chargebacks) -----------------------------------------------------


def test_reconcile_reports_a_refund_on_a_disputed_order(staff):
    order = make_accepted()
    open_dispute(order)
    assert reconcile().ok

    ledger_record(order=order, kind=K.REFUNDED, amount_cents=300, gateway_id="sim_re_999")

    assert reconcile().problems == [f"Order #{order.pk} (disputed): 300 refunded while the order is still open"]


def test_reconcile_reports_a_charged_back_amount_that_is_not_the_chargebacks():
    order = make_accepted()
    chargeback_record(dispute=card_dispute(order.ledger.get(kind=K.CAPTURED).gateway_id, amount=order.total_cents))
    assert reconcile().ok

    LedgerEntry.objects.create(order=order, kind=K.CHARGED_BACK, amount_cents=1, currency="USD",
                               gateway_id="dp_1:withdrawn")

    assert reconcile().problems == [f"Order #{order.pk}: charged_back 1, chargeback dp_1 is {order.total_cents}"]


def test_reconcile_reports_money_reinstated_that_was_never_charged_back():
    order = make_accepted()
    chargeback_record(dispute=card_dispute(order.ledger.get(kind=K.CAPTURED).gateway_id, amount=order.total_cents))

    ledger_record(order=order, kind=K.REINSTATED, amount_cents=order.total_cents, gateway_id="dp_1:reinstated")

    assert reconcile().problems == [
        f"Order #{order.pk}: {order.total_cents} reinstated for chargeback dp_1, which never took any money"]


# --- 11. one key per attempt --------------------------------------------------------------------------------------


def test_a_refund_retried_after_a_refusal_gets_a_new_key_and_its_recovery_keeps_it(staff, monkeypatch):
    order = make_accepted()
    dispute = open_dispute(order)
    calls = []
    real_refund = SimulatedGateway.refund

    def refused(self, **kwargs):
        calls.append(kwargs["idempotency_key"])
        raise GatewayError("The refund was refused by the card network.", detail="card_declined")

    def counted(self, **kwargs):
        calls.append(kwargs["idempotency_key"])
        return real_refund(self, **kwargs)

    monkeypatch.setattr(SimulatedGateway, "refund", refused)
    with pytest.raises(ApplicationError, match=r"^The refund was refused by the card network\. Nothing was changed"):
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND, note="Refund.")
    monkeypatch.setattr(SimulatedGateway, "refund", counted)
    answers_back = refund_answers_lost(monkeypatch)
    with pytest.raises(PaymentStepPending):
        dispute_resolve(dispute=dispute, by=staff, outcome=Outcome.FULL_REFUND, note="Refund.")
    answers_back()
    second = order.money_operations.get(kind=MoneyOperation.Kind.REFUND, attempt=2)
    with after_recovery_delay(second):
        assert money_recover() == RECOVERED_ONE

    key = f"refund:order-{order.pk}"
    assert calls == [f"{key}:1", f"{key}:2"]  # the recovery job looks the refund up by its key: no new call
    assert list(order.money_operations.filter(kind=MoneyOperation.Kind.REFUND).order_by("attempt")
                .values_list("idempotency_key", "state")) == [(f"{key}:1", "failed"), (f"{key}:2", "succeeded")]
    made = SimulatedOperation.objects.get(operation__startswith="refund:")
    assert made.idempotency_key == f"{key}:2"
    assert order.ledger.get(kind=K.REFUNDED).gateway_id == f"sim_re_{made.pk}"
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.REFUNDED
    for operation in MoneyOperation.objects.filter(order=order):
        assert re.fullmatch(rf"{operation.kind}:order-{order.pk}:{operation.attempt}", operation.idempotency_key)
    assert {operation.kind for operation in MoneyOperation.objects.filter(order=order)} == {
        "payment", "capture", "refund"}


# --- 12. the chargeback fee enters the ledger ---------------------------------------------------------------------


def test_a_chargeback_fee_is_recorded_once_and_reported_as_a_loss(stripe_api, client):
    listing = make_published()
    stub_payment_intent(stripe_api, amount=listing.price_cents)
    order = order_mark_authorized(order=order_create(listing=listing, employer=make_user()))
    order = order_accept(order=order, by=order.freelancer)
    total = order.total_cents
    dispute = {"id": "dp_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_1", "amount": total,
               "currency": "usd", "reason": "fraudulent", "status": "needs_response",
               "balance_transactions": [{"id": "txn_dp", "object": "balance_transaction", "amount": -total,
                                         "fee": 1500, "type": "adjustment"}]}
    stripe_api.get(f"{API}/disputes/dp_1", json=dispute)

    for event_id in ("evt_withdrawn", "evt_withdrawn_again"):
        deliver(client, event(event_id, "charge.dispute.funds_withdrawn", dispute), connect=False)
    deliver(client, event("evt_updated", "charge.dispute.updated", dispute), connect=False)

    fees = list(order.ledger.filter(kind=K.DISPUTE_FEE).values_list("amount_cents", "gateway_id"))
    assert fees == [(1500, "dp_1:fee:1500")]
    assert list(order.ledger.filter(kind=K.CHARGED_BACK).values_list("amount_cents", flat=True)) == [total]
    assert Chargeback.objects.get().amount_cents == total
    report = reconcile()
    assert report.problems == []
    assert f"Order #{order.pk}: chargeback fees of 1500 cents" in report.losses
    assert f"Order #{order.pk}: lost a chargeback of {total} cents" in report.losses
    assert report.totals[K.DISPUTE_FEE] == 1500
    assert StripeEvent.objects.filter(processed_at__isnull=True).count() == 0

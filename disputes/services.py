"""Disputes and chargebacks. Every change goes through here.

An employer disputes an accepted or delivered order (`dispute_open`): the order becomes
`disputed`, which pauses its automatic completion, and a three-party thread (employer,
freelancer, staff) starts with the employer's description and files. Staff decide in admin
(`dispute_resolve`): a full refund, a partial refund with the rest paid out, or a dismissal
that puts the order back where it was with its deadline moved back by the time in dispute.
Refunds go through the gateway with the key `refund:order-<id>:<n>` and land in the ledger.

Locks are taken in one order, the order row first and then the dispute, so a resolution, an
employer's action and the deadline sweep never deadlock and exactly one of them wins."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from cadcam.emails import send_templated_email
from cadcam.errors import ApplicationError, InvalidTransition
from cadcam.money import format_cents
from disputes.models import Chargeback, Dispute
from messaging.services import conversation_for_dispute, message_send
from orders.models import Order
from orders.services import order_dispute, order_refund, order_resume, order_settle
from payments.backends import get_gateway
from payments.fees import MINIMUM_FEE_CENTS
from payments.gateway import CardDispute, GatewayError
from payments.ledger import ledger_record, refunded_so_far
from payments.models import LedgerEntry
from payouts.models import Payout
from payouts.services import payout_hold, payout_release

DESCRIPTION_MIN_CHARS = 20
DESCRIPTION_MAX_CHARS = 5000


class Outcome:
    FULL_REFUND = "full_refund"
    PARTIAL_REFUND = "partial_refund"
    DISMISS = "dismiss"

    choices = [
        (FULL_REFUND, "Refund in full (nothing is paid out, no fee)"),
        (PARTIAL_REFUND, "Refund part; pay the rest to the designer"),
        (DISMISS, "Dismiss: the order goes on where it was"),
    ]


def _staff_emails() -> list[str]:
    return list(get_user_model().objects.filter(is_staff=True, is_active=True).values_list("email", flat=True))


def _notify(dispute: Dispute, event: str, *, to: Sequence[User]) -> None:
    for user in to:
        send_templated_email(to=user.email, template="dispute_event",
                             context={"dispute": dispute, "order": dispute.order, "event": event, "recipient": user})


def _lock_order(order: Order) -> Order:
    return Order.objects.select_for_update().select_related("employer", "freelancer").get(pk=order.pk)


def dispute_may_open(order: Order, user) -> bool:
    """Whether the order page offers this user "Open a dispute" (the service checks again)."""
    if user.pk != order.employer_id or order.status not in (Order.Status.ACCEPTED, Order.Status.DELIVERED):
        return False
    last = order.disputes.first()
    return last is None or last.another_allowed


@transaction.atomic
def dispute_open(*, order: Order, by: User, reason: str, description: str, files: Sequence = (),
                 hide_patient_data: bool = True) -> Dispute:
    description = (description or "").strip()
    if reason not in Dispute.Reason.values:
        raise ApplicationError("Choose what the dispute is about.")
    if not DESCRIPTION_MIN_CHARS <= len(description) <= DESCRIPTION_MAX_CHARS:
        raise ApplicationError(f"Describe the problem in {DESCRIPTION_MIN_CHARS} to {DESCRIPTION_MAX_CHARS} "
                               f"characters (this has {len(description)}).")
    order = _lock_order(order)
    if by.pk != order.employer_id:
        raise ApplicationError("Only the client who sent this case can open a dispute.")
    last = order.disputes.first()
    if last is not None and last.is_open:
        raise ApplicationError("A dispute is already open on this order.")
    if last is not None and not last.another_allowed:
        raise ApplicationError("A dispute about this order was already decided. Write to support if something new "
                               "has happened.")
    status_before = order.status
    order_dispute(order=order, by=by, note=f"{Dispute.Reason(reason).label}: {description}"[:500])
    dispute = Dispute.objects.create(order=order, opened_by=by, reason=reason, description=description,
                                     order_status_before=status_before)
    thread = conversation_for_dispute(order=order, dispute_id=dispute.pk,
                                      subject=f"Dispute about order #{order.pk}: {Dispute.Reason(reason).label}")
    message_send(conversation=thread, sender=by, body=description, files=files, hide_patient_data=hide_patient_data)
    _notify(dispute, "opened", to=[order.freelancer])
    for email in _staff_emails():
        send_templated_email(to=email, template="dispute_staff_alert",
                             context={"dispute": dispute, "order": order, "kind": "dispute"})
    return dispute


def _refund(order: Order, amount_cents: int):
    """Refund through the gateway with the key `refund:order-<id>:<n>`. A refund the gateway
    made but we never recorded (our transaction failed after the call) is taken over if it
    is the same amount, and refused otherwise, so money is never refunded twice."""
    gateway = get_gateway()
    try:
        recorded = set(order.ledger.filter(kind=LedgerEntry.Kind.REFUNDED).values_list("gateway_id", flat=True))
        unrecorded = [refund for refund in gateway.list_refunds(order.payment_id) if refund.id not in recorded]
        if unrecorded:
            if unrecorded[0].amount_cents == amount_cents:
                return unrecorded[0]
            raise ApplicationError(
                f"A refund of {format_cents(unrecorded[0].amount_cents)} was already made for this order at the "
                "payment service but not recorded here. Resolve with that amount."
            )
        return gateway.refund(payment_id=order.payment_id, amount_cents=amount_cents,
                              idempotency_key=f"refund:order-{order.pk}:{len(recorded) + 1}")
    except GatewayError as error:
        raise ApplicationError(f"The refund failed: {error.message} Nothing was changed; try again.") from error


@transaction.atomic
def dispute_resolve(*, dispute: Dispute, by: User, outcome: str, note: str, refund_cents: int | None = None,
                    allow_another: bool = False) -> Dispute:
    """Staff's decision. Both parties are e-mailed it, with the note."""
    if not by.is_staff:
        raise ApplicationError("Only staff can resolve a dispute.")
    note = (note or "").strip()
    if not note:
        raise ApplicationError("Write a resolution note: both parties receive it.")
    order = _lock_order(dispute.order)
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if not dispute.is_open:
        raise InvalidTransition("This dispute was already resolved.")
    if order.status != Order.Status.DISPUTED:
        raise InvalidTransition(f"The order is {order.get_status_display().lower()}, not in dispute.")
    refundable = order.total_cents - refunded_so_far(order)
    now = timezone.now()
    if outcome == Outcome.FULL_REFUND:
        refund = _refund(order, refundable)
        order_refund(order=order, by=by, refund=refund, note=note)
        dispute.status, dispute.refunded_cents = Dispute.Status.REFUNDED, refund.amount_cents
    elif outcome == Outcome.PARTIAL_REFUND:
        # The designer must keep more than the minimum fee, or nothing would be paid out.
        most = refundable - MINIMUM_FEE_CENTS - 1
        if refund_cents is None or not 0 < refund_cents <= most:
            raise ApplicationError(f"A partial refund must be more than $0.00 and at most {format_cents(most)}; "
                                   "refund in full otherwise.")
        refund = _refund(order, refund_cents)
        order_settle(order=order, by=by, refund=refund, note=note)
        dispute.status, dispute.refunded_cents = Dispute.Status.PARTLY_REFUNDED, refund.amount_cents
    elif outcome == Outcome.DISMISS:
        order_resume(order=order, by=by, back_to=dispute.order_status_before, note=note,
                     paused=now - dispute.opened_at)
        dispute.status = Dispute.Status.DISMISSED
        dispute.another_allowed = allow_another
    else:
        raise ApplicationError("Choose how to resolve the dispute.")
    dispute.resolved_at = now
    dispute.resolved_by = by
    dispute.resolution_note = note
    dispute.save(update_fields=["status", "refunded_cents", "another_allowed", "resolved_at", "resolved_by",
                                "resolution_note"])
    dispute.order = order
    _notify(dispute, "resolved", to=[order.employer, order.freelancer])
    return dispute


# --- chargebacks --------------------------------------------------------------------------------------


def chargeback_record(*, dispute: CardDispute) -> Chargeback | None:
    """A card dispute was opened or changed at the gateway (as fetched from it): record it
    once, hold the order's payout if it was not transferred yet (or from its creation, if the
    order is still in progress), and alert staff when it is new."""
    captured = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CAPTURED, gateway_id=dispute.charge_id).first()
    order_id = captured.order_id if captured else (
        Order.objects.filter(payment_id=dispute.payment_id).values_list("pk", flat=True).first()
        if dispute.payment_id else None
    )
    if order_id is None:
        return None
    with transaction.atomic():
        order = _lock_order(Order(pk=order_id))
        chargeback, created = Chargeback.objects.select_for_update().get_or_create(
            gateway_id=dispute.id,
            defaults={"order": order, "amount_cents": dispute.amount_cents, "reason": dispute.reason,
                      "status": dispute.status},
        )
        if not created:
            chargeback.status = dispute.status
            chargeback.save(update_fields=["status", "updated_at"])
            return chargeback
        # Held now, or will be when the order completes (payout_create_for_order checks).
        chargeback.payout_frozen = payout_hold(order=order)
        chargeback.save(update_fields=["payout_frozen"])
        payout = Payout.objects.filter(order=order).first()
        for email in _staff_emails():
            send_templated_email(to=email, template="dispute_staff_alert",
                                 context={"chargeback": chargeback, "order": order, "kind": "chargeback",
                                          "payout": payout})
        return chargeback


def chargeback_funds_moved(*, dispute: CardDispute, withdrawn: bool) -> Chargeback | None:
    """The bank took the disputed money from the platform (withdrawn), or gave it back after
    the chargeback was won (reinstated): the ledger records it once."""
    chargeback = chargeback_record(dispute=dispute)
    if chargeback is None:
        return None
    with transaction.atomic():
        order = _lock_order(chargeback.order)
        kind = LedgerEntry.Kind.CHARGED_BACK if withdrawn else LedgerEntry.Kind.REINSTATED
        ledger_record(order=order, kind=kind, amount_cents=dispute.amount_cents,
                      gateway_id=f"{dispute.id}:{'withdrawn' if withdrawn else 'reinstated'}")
    return chargeback


@transaction.atomic
def chargeback_handle(*, chargeback: Chargeback, by: User, release_payout: bool) -> Chargeback:
    """Staff dealt with the chargeback (in Stripe's dashboard); optionally the frozen payout
    goes on to the designer (e.g. the chargeback was won)."""
    if not by.is_staff:
        raise ApplicationError("Only staff can do that.")
    chargeback = Chargeback.objects.select_for_update().get(pk=chargeback.pk)
    if chargeback.handled_at:
        raise InvalidTransition("This chargeback was already handled.")
    if release_payout:
        payout_release(order=chargeback.order)
    chargeback.handled_at = timezone.now()
    chargeback.handled_by = by
    chargeback.save(update_fields=["handled_at", "handled_by", "updated_at"])
    return chargeback

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
from cadcam.staff import acting_as_staff
from disputes.models import Chargeback, Dispute
from messaging.services import conversation_for_dispute, message_send
from orders.models import Order
from orders.services import order_dispute, order_refund, order_resume, order_settle
from orders.transitions import lock_order
from payments.fees import MINIMUM_FEE_CENTS
from payments.gateway import CardDispute
from payments.ledger import ledger_record, refunded_so_far
from payments.models import LedgerEntry, MoneyOperation
from payments.operations import money_operation_run, money_operation_start, money_operations_settled
from payments.refunds import money_staff_alert, refunds_adopt
from payouts.models import Payout
from payouts.services import payout_hold, payout_release

RESOLVE = "dispute.resolve"
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
    order = lock_order(order)
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


def _dismiss(dispute: Dispute, order: Order, *, by: User, note: str, allow_another: bool) -> None:
    now = timezone.now()
    order_resume(order=order, by=by, back_to=dispute.order_status_before, note=note, paused=now - dispute.opened_at)
    dispute.status = Dispute.Status.DISMISSED
    dispute.another_allowed = allow_another
    _decided(dispute, order, by=by, note=note, when=now)


def _decided(dispute: Dispute, order: Order, *, by: User, note: str, when) -> None:
    dispute.resolved_at = when
    dispute.resolved_by = by
    dispute.resolution_note = note
    dispute.save(update_fields=["status", "refunded_cents", "another_allowed", "resolved_at", "resolved_by",
                                "resolution_note"])
    dispute.order = order
    _notify(dispute, "resolved", to=[order.employer, order.freelancer])


def dispute_resolve(*, dispute: Dispute, by: User, outcome: str, note: str, refund_cents: int | None = None,
                    allow_another: bool = False) -> Dispute:
    """Staff's decision. Both parties are e-mailed it, with the note.

    A refund is a recoverable money operation (`refund:order-<id>:<n>`, the key also in the
    refund's metadata); the decision is recorded when the gateway confirms the refund
    (`resolve_finished`), right away or, if its answer was lost, by the recovery job. A
    refund the gateway made that is not in our ledger (made in Stripe's dashboard, say) is
    recorded first and the decision refused, so no decision is taken on a wrong picture of
    the money."""
    if not acting_as_staff(by):
        raise ApplicationError("Only staff can resolve a dispute.")
    note = (note or "").strip()
    if not note:
        raise ApplicationError("Write a resolution note: both parties receive it.")
    if outcome not in (Outcome.FULL_REFUND, Outcome.PARTIAL_REFUND, Outcome.DISMISS):
        raise ApplicationError("Choose how to resolve the dispute.")
    adopted = refunds_adopt(order=dispute.order)
    if adopted:
        raise ApplicationError(
            f"A refund of {format_cents(sum(refund.amount_cents for refund in adopted))} was made for this order at "
            "the payment service but not recorded here. It is recorded now: look at the order again and decide "
            "with it in mind."
        )
    with transaction.atomic(durable=True):
        order = lock_order(dispute.order)
        dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
        if not dispute.is_open:
            raise InvalidTransition("This dispute was already resolved.")
        if order.status != Order.Status.DISPUTED:
            raise InvalidTransition(f"The order is {order.get_status_display().lower()}, not in dispute.")
        money_operations_settled(order)
        refunded = refunded_so_far(order)
        if outcome == Outcome.DISMISS:
            if refunded:
                raise ApplicationError(f"{format_cents(refunded)} of this payment was refunded already: dismissing "
                                       "would pay the designer money the client got back. Refund in full or in part.")
            _dismiss(dispute, order, by=by, note=note, allow_another=allow_another)
            return dispute
        refundable = order.total_cents - refunded
        if outcome == Outcome.FULL_REFUND and refundable <= 0:
            # Everything went back to the card already (refunded at the payment service): only
            # the decision is left to record.
            order_refund(order=order, by=by, note=note)
            dispute.status, dispute.refunded_cents = Dispute.Status.REFUNDED, refunded
            _decided(dispute, order, by=by, note=note, when=timezone.now())
            return dispute
        if outcome == Outcome.FULL_REFUND:
            amount = refundable
        else:
            # The designer must keep more than the minimum fee, or nothing would be paid out.
            most = refundable - MINIMUM_FEE_CENTS - 1
            if refund_cents is None or not 0 < refund_cents <= most:
                raise ApplicationError(f"A partial refund must be more than $0.00 and at most {format_cents(most)}; "
                                       "refund in full otherwise.")
            amount = refund_cents
        operation = money_operation_start(
            order=order, kind=MoneyOperation.Kind.REFUND, purpose=RESOLVE, amount_cents=amount,
            params={"payment_id": order.payment_id},
            context={"dispute": dispute.pk, "outcome": outcome, "note": note, "by": by.pk,
                     "refunded_before": refunded},
        )
    money_operation_run(operation)
    dispute.refresh_from_db()
    return dispute


def resolve_finished(*, operation: MoneyOperation, order: Order, outcome) -> None:
    """The dispute's refund is confirmed (or refused): record it and the decision."""
    context = operation.context
    if not outcome.succeeded:
        # Nothing was refunded: the dispute stays open. Staff who decided are told when the
        # recovery job found out later (at the time, they read "being confirmed").
        if outcome.recovered:
            money_staff_alert(order=order, subject="A dispute refund did not go through: decide again",
                              lines=[f"{operation.idempotency_key}: {operation.amount_display}, {outcome.error}.",
                                     "The dispute is still open."])
        return
    ledger_record(order=order, kind=LedgerEntry.Kind.REFUNDED, amount_cents=operation.amount_cents,
                  gateway_id=outcome.gateway_id, note="Refund decided in a dispute")
    dispute = Dispute.objects.select_for_update().get(pk=context["dispute"])
    by = User.objects.get(pk=context["by"])
    refunded = refunded_so_far(order)
    changed = refunded - operation.amount_cents != context.get("refunded_before", 0)
    if not dispute.is_open or order.status != Order.Status.DISPUTED or changed:
        # The money changed while the refund was being confirmed (a refund made at the payment
        # service, say): the decision was taken on another picture, so staff take it again.
        money_staff_alert(order=order, subject="A dispute refund was confirmed, but the decision needs staff again",
                          lines=[f"{operation.idempotency_key}: {operation.amount_display} refunded and recorded.",
                                 f"Refunded in all: {refunded} cents; the dispute is "
                                 f"{dispute.get_status_display().lower()}. Decide it again."])
        return
    if context["outcome"] == Outcome.FULL_REFUND:
        order_refund(order=order, by=by, note=context["note"], authorized=True)
        dispute.status = Dispute.Status.REFUNDED
    else:
        order_settle(order=order, by=by, note=context["note"], authorized=True)
        dispute.status = Dispute.Status.PARTLY_REFUNDED
    dispute.refunded_cents = refunded
    _decided(dispute, order, by=by, note=context["note"], when=timezone.now())


FINISHERS = {RESOLVE: resolve_finished}


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
        order = lock_order(Order(pk=order_id))
        _record_dispute_fee(order, dispute)
        chargeback, created = Chargeback.objects.select_for_update().get_or_create(
            gateway_id=dispute.id,
            defaults={"order": order, "amount_cents": dispute.amount_cents, "reason": dispute.reason,
                      "status": dispute.status},
        )
        if not created:
            chargeback.status = dispute.status
            chargeback.save(update_fields=["status", "updated_at"])
            return chargeback
        # Held now, or opened on hold when the order completes (the hold check disputes registers).
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
        order = lock_order(chargeback.order)
        kind = LedgerEntry.Kind.CHARGED_BACK if withdrawn else LedgerEntry.Kind.REINSTATED
        ledger_record(order=order, kind=kind, amount_cents=dispute.amount_cents,
                      gateway_id=f"{dispute.id}:{'withdrawn' if withdrawn else 'reinstated'}")
    return chargeback


def _record_dispute_fee(order: Order, dispute: CardDispute) -> None:
    """The card network's fee for a chargeback is a loss of the platform's, outside the
    order's own money: recorded once per amount the gateway reports (it only grows)."""
    recorded = sum(order.ledger.filter(kind=LedgerEntry.Kind.DISPUTE_FEE, gateway_id__startswith=f"{dispute.id}:fee")
                   .values_list("amount_cents", flat=True))
    if dispute.fee_cents > recorded:
        ledger_record(order=order, kind=LedgerEntry.Kind.DISPUTE_FEE, amount_cents=dispute.fee_cents - recorded,
                      gateway_id=f"{dispute.id}:fee:{dispute.fee_cents}", note=f"Chargeback fee ({dispute.id})")


def chargeback_lost(chargeback: Chargeback) -> bool:
    """The bank kept the disputed money: lost, or withdrawn and not given back."""
    if chargeback.status == "lost":
        return True
    keys = [f"{chargeback.gateway_id}:withdrawn", f"{chargeback.gateway_id}:reinstated"]
    moved = dict(LedgerEntry.objects.filter(order_id=chargeback.order_id, gateway_id__in=keys)
                 .values_list("kind", "amount_cents"))
    return moved.get(LedgerEntry.Kind.CHARGED_BACK, 0) > moved.get(LedgerEntry.Kind.REINSTATED, 0)


def chargeback_handle(*, chargeback: Chargeback, by: User, release_payout: bool) -> Chargeback:
    """Staff dealt with the chargeback (in Stripe's dashboard); optionally the frozen payout
    goes on to the designer (the chargeback was won, or staff decided to pay anyway). A lost
    chargeback cannot release the payout: the platform would pay the designer money the
    bank took back."""
    if not acting_as_staff(by):
        raise ApplicationError("Only staff can do that.")
    with transaction.atomic():
        order = lock_order(chargeback.order)
        chargeback = Chargeback.objects.select_for_update().get(pk=chargeback.pk)
        if chargeback.handled_at:
            raise InvalidTransition("This chargeback was already handled.")
        if release_payout:
            if chargeback_lost(chargeback):
                raise ApplicationError("The card holder's bank kept the disputed money (the chargeback was lost): "
                                       "the designer's payout stays on hold. Mark it handled without releasing.")
            payout_release(order=order)
        chargeback.handled_at = timezone.now()
        chargeback.handled_by = by
        chargeback.save(update_fields=["handled_at", "handled_by", "updated_at"])
    return chargeback

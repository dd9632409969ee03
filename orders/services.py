"""The escrow state machine's services: every change of an order's state goes through here.

Each service locks the order row, checks the actor and the state (orders/transitions.py),
writes the new state and an OrderEvent, and sends e-mail after commit. A step that moves
money at the gateway (set the payment up, capture, release) is a recoverable money operation
(payments/operations.py): the attempt is committed before the call, and the state changes
in orders/finishers.py once the outcome is known, right after the call or, when its answer
was lost, from the recovery job. While a step's outcome is unknown, every service refuses
with "a payment step is being confirmed"."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from accounts.models import User
from cadcam.direct_uploads import store_upload
from cadcam.errors import ApplicationError, InvalidTransition
from cadcam.files import safe_filename
from cadcam.money import format_cents
from cadcam.uploads import check_storage_quota, check_upload_batch
from listings.models import Listing
from orders.finishers import ACCEPT, PAYMENT, RELEASE
from orders.models import ENDED_UNPAID, Delivery, Order, OrderEvent, OrderFile, OrderOption, Pin
from orders.pin_services import pins_attach_to_revision
from orders.selectors import unpaid_case_files, unpaid_case_files_bytes
from orders.transitions import (
    ACCEPT_WINDOW,
    EMPLOYER,
    FREELANCER,
    PAYOUT_CLEARING,
    UNPAID_DROPPED_AFTER,
    S,
    apply_transition,
    check_transition,
    lock_order,
    notify_parties,
)
from payments.backends import get_gateway
from payments.fees import platform_fee_cents
from payments.gateway import MAX_PAYMENT_CENTS, GatewayError, PaymentStatus
from payments.ledger import ledger_record, refunded_so_far
from payments.models import LedgerEntry, MoneyOperation
from payments.operations import money_operation_run, money_operation_start, money_operations_settled
from payments.refunds import money_staff_alert
from payments.simulated import SimulatedGateway

K = MoneyOperation.Kind
MAX_QUANTITY = 100


# --- creating and paying -----------------------------------------------------------------------


def _attach(order: Order, uploads: Sequence, *, by: User, delivery: Delivery | None = None,
            hide_patient_data: bool = True) -> None:
    """Store uploaded files (already checked by the form) privately, with their fingerprint and
    the uploader's choice to hide patient data in exocad summaries from the other party. Files
    the browser sent straight to the bucket move under the order's prefix (store_upload)."""
    for upload in uploads:
        name = safe_filename(upload.name)
        stored = OrderFile(order=order, delivery=delivery, uploaded_by=by, name=name, size=upload.size,
                           hide_patient_data=hide_patient_data)
        store_upload(stored, upload, name=name, owner=by)


def _check_may_send(employer: User, files: Sequence) -> None:
    """The limits on sending cases: files per case, cases an hour, and the storage that files of
    unpaid cases may hold. The employer's row lock makes two Send Cases at once count in turn."""
    check_upload_batch(files)
    User.objects.select_for_update().filter(pk=employer.pk).values_list("pk", flat=True).get()
    sent = Order.objects.filter(employer=employer, created_at__gt=timezone.now() - timedelta(hours=1)).count()
    if sent >= settings.SEND_CASE_PER_HOUR:
        raise ApplicationError(f"You have sent {sent} cases in the last hour, the most one account may. "
                               "Wait a little, then send this one again.")
    check_storage_quota(
        used=unpaid_case_files_bytes(employer), adding=sum(upload.size for upload in files),
        quota=settings.UNPAID_CASE_FILES_QUOTA_BYTES, what="Your cases that are not paid yet",
        advice=(f"Files of cases that end unpaid are deleted {settings.UNPAID_CASE_FILES_KEPT_DAYS} days later; "
                "pay for a waiting case, or write to support if you need more room."),
    )


def order_create(*, listing: Listing, employer: User, quantity: int = 1, option_ids: Sequence[int] = (),
                 due_date: date | None = None, instructions: str = "", files: Sequence = (),
                 hide_patient_data: bool = True) -> Order:
    """Send a case: the price is computed here from the listing, never taken from the request.
    The order and its files are saved first; then the payment is set up at the gateway. If
    that fails or its answer is lost, the order waits with its files and the payment page
    sets the payment up again (or tells the client it is being confirmed)."""
    with transaction.atomic(durable=True):
        _check_may_send(employer, files)
        listing = Listing.objects.select_related("owner").get(pk=listing.pk)
        if not listing.is_live:
            raise ApplicationError("This service is not available any more.")
        if listing.is_private and not listing.recipients.filter(pk=employer.pk).exists():
            raise ApplicationError("This service is not available any more.")
        if listing.owner_id == employer.pk:
            raise ApplicationError("You cannot order your own service.")
        if listing.is_per_unit and not 1 <= quantity <= MAX_QUANTITY:
            raise ApplicationError(f"Choose a quantity from 1 to {MAX_QUANTITY}.")
        if not listing.is_per_unit and quantity != 1:
            raise ApplicationError("This service is sold once per order.")
        if due_date is not None and due_date <= timezone.localdate():
            raise ApplicationError("The due date must be in the future.")
        options = list(listing.options.filter(pk__in=option_ids))
        if len(options) != len(set(option_ids)):
            raise ApplicationError("One of the chosen add-ons is not offered by this service.")
        options_cents = sum(option.price_cents for option in options)
        total = listing.price_cents * quantity + options_cents
        if total > MAX_PAYMENT_CENTS:
            raise ApplicationError(f"A case can cost at most {format_cents(MAX_PAYMENT_CENTS)} (the most a card "
                                   f"can pay at once); this one comes to {format_cents(total)}. Send fewer units "
                                   "per case.")
        fee = platform_fee_cents(total)
        order = Order.objects.create(
            employer=employer, freelancer=listing.owner, listing=listing, title=listing.title,
            unit_price_cents=listing.price_cents, unit_name=listing.unit_name if listing.is_per_unit else "",
            quantity=quantity, options_cents=options_cents, total_cents=total, fee_cents=fee,
            net_cents=total - fee, currency=listing.currency, revisions_included=listing.revisions_included,
            turnaround_days=listing.turnaround_days, due_date=due_date, instructions=instructions.strip(),
        )
        OrderOption.objects.bulk_create(OrderOption(order=order, name=o.name, price_cents=o.price_cents)
                                        for o in options)
        OrderEvent.objects.create(order=order, actor=employer, to_status=order.status)
        _attach(order, files, by=employer, hide_patient_data=hide_patient_data)
        operation = _payment_operation(order)
    # If it fails, the order waits with its files: the payment page sets the payment up again
    # (or says it is being confirmed).
    with contextlib.suppress(ApplicationError):
        money_operation_run(operation)
    order.refresh_from_db()
    return order


def _payment_operation(order: Order) -> MoneyOperation:
    return money_operation_start(order=order, kind=K.PAYMENT, purpose=PAYMENT, amount_cents=order.total_cents,
                                 params={"reference": f"order-{order.pk}"})


def order_payment_set_up(*, order: Order, by: User) -> Order:
    """The payment page of an order whose payment could not be set up when it was sent: try
    again (a new attempt). Raises with the gateway's message, or PaymentStepPending."""
    with transaction.atomic(durable=True):
        order = lock_order(order)
        if by.pk != order.employer_id:
            raise ApplicationError("Only the client who sent this case can pay for it.")
        if order.status != S.PENDING_PAYMENT:
            raise InvalidTransition(f"This order is {order.get_status_display().lower()}: it is not waiting for "
                                    "payment.")
        if order.payment_id:
            return order
        operation = _payment_operation(order)
    money_operation_run(operation)
    order.refresh_from_db()
    return order


def order_payment_taken_early(*, order: Order, payment_id: str) -> None:
    """The payment page found the PaymentIntent already captured at Stripe before the designer
    accepted (taken outside our steps): staff are told, once a day, while it stays so."""
    if cache.add(f"alerted:captured-early:{order.pk}", True, timeout=24 * 60 * 60):
        money_staff_alert(order=order, subject="A payment was captured at Stripe before the case was accepted",
                          lines=[f"PaymentIntent {payment_id} is succeeded."])


def _accept_by(order: Order, authorized_at: datetime) -> datetime:
    """Three days to accept, and never after the due date: midnight at its start in the
    client's own time zone (the date they chose), whoever marks the order authorized."""
    accept_by = authorized_at + ACCEPT_WINDOW
    if order.due_date:
        profile = getattr(order.employer, "profile", None)
        zone = profile.time_zone if profile and profile.time_zone else timezone.utc
        accept_by = min(accept_by, timezone.make_aware(datetime.combine(order.due_date, time.min), zone))
    return accept_by


@transaction.atomic
def order_mark_authorized(*, order: Order) -> Order:
    """The card was authorized (payment page return or gateway webhook, whichever comes
    first): the designer is asked. A second call for the same order changes nothing."""
    order = lock_order(order)
    if order.status != S.PENDING_PAYMENT:
        return order
    if not order.payment_id:
        raise ApplicationError("The payment is not set up yet.")
    payment = get_gateway().retrieve(order.payment_id)
    if payment.status != PaymentStatus.REQUIRES_CAPTURE or payment.amount_cents != order.total_cents:
        raise ApplicationError("The payment is not authorized yet.")
    now = timezone.now()
    apply_transition(order, "authorize", by=None)
    order.authorized_at = now
    order.accept_by = _accept_by(order, now)
    order.save(update_fields=["status", "authorized_at", "accept_by"])
    ledger_record(order=order, kind=LedgerEntry.Kind.AUTHORIZED, amount_cents=payment.amount_cents,
                  gateway_id=payment.id)
    notify_parties(order, "requested")
    return order


def order_pay_with_test_card(*, order: Order, by: User, approve: bool) -> Order:
    """The simulated gateway's payment page: the test card is authorized (or refused), then
    the order is marked authorized. A repeated click on a payment that already went through
    just carries on."""
    if by.pk != order.employer_id:
        raise ApplicationError("Only the client who sent this case can pay for it.")
    if not order.payment_id:
        raise ApplicationError("The payment is not set up yet.")
    gateway = SimulatedGateway()
    try:
        gateway.customer_pays(payment_id=order.payment_id, approve=approve)
    except GatewayError as error:
        if gateway.retrieve(order.payment_id).status != PaymentStatus.REQUIRES_CAPTURE:
            raise ApplicationError(error.message) from error
    return order_mark_authorized(order=order)


# --- the designer answers -----------------------------------------------------------------------


def order_accept(*, order: Order, by: User) -> Order:
    """The designer accepts: the payment is captured, and the order is accepted once the
    gateway confirms it (orders/finishers.py)."""
    with transaction.atomic(durable=True):
        order = lock_order(order)
        check_transition(order, "accept", by=by)
        if order.accept_by and timezone.now() > order.accept_by:
            raise InvalidTransition("The time to accept this case has passed.")
        operation = money_operation_start(order=order, kind=K.CAPTURE, purpose=ACCEPT,
                                          amount_cents=order.total_cents, params={"payment_id": order.payment_id},
                                          context={"by": by.pk})
    money_operation_run(operation)
    order.refresh_from_db()
    return order


def _release(order: Order, action: str, *, by: User | None, note: str = "", due=None) -> Order:
    """Decline, withdraw or expire: the authorization is released at the gateway, then the
    order moves (orders/finishers.py); nothing is charged. `due(order)` re-checks a deadline
    under the lock and returns the note."""
    with transaction.atomic(durable=True):
        order = lock_order(order)
        check_transition(order, action, by=by)
        if due is not None:
            note = due(order)
        if not order.payment_id:  # the payment was never set up: nothing to release
            apply_transition(order, action, by=by, note=note)
            order.save(update_fields=["status"])
            notify_parties(order, order.status, note=note)
            return order
        operation = money_operation_start(order=order, kind=K.CANCEL, purpose=RELEASE,
                                          amount_cents=order.total_cents, params={"payment_id": order.payment_id},
                                          context={"action": action, "by": by.pk if by else None, "note": note})
    money_operation_run(operation)
    order.refresh_from_db()
    return order


def order_decline(*, order: Order, by: User, reason: str = "") -> Order:
    return _release(order, "decline", by=by, note=reason.strip())


def order_withdraw(*, order: Order, by: User) -> Order:
    return _release(order, "withdraw", by=by)


def order_expire(*, order: Order, now: datetime | None = None) -> Order:
    """The designer did not answer in time, or the employer never paid. Re-checked under the lock."""
    now = now or timezone.now()

    def due(locked: Order) -> str:
        note = expiry_note(locked, now)
        if note is None:
            raise InvalidTransition("This order is not due to expire.")
        return note

    return _release(order, "expire", by=None, due=due)


def expiry_note(order: Order, now: datetime) -> str | None:
    """Why the order expires at `now` (the note on its timeline), or None when it is not due."""
    if order.status == S.REQUESTED and order.accept_by and now >= order.accept_by:
        return "Not accepted in time"
    if order.status == S.PENDING_PAYMENT and now >= order.created_at + UNPAID_DROPPED_AFTER:
        return "Not paid"
    return None


# --- work and completion --------------------------------------------------------------------------


@transaction.atomic
def order_deliver(*, order: Order, by: User, note: str = "", files: Sequence = (),
                  hide_patient_data: bool = True) -> Delivery:
    order = lock_order(order)
    apply_transition(order, "deliver", by=by, note=note.strip())
    if not files:
        raise ApplicationError("Attach the design files to deliver.")
    check_upload_batch(files)
    delivery = Delivery.objects.create(order=order, number=order.deliveries.count() + 1, note=note.strip())
    _attach(order, files, by=by, delivery=delivery, hide_patient_data=hide_patient_data)
    order.save(update_fields=["status"])
    notify_parties(order, "delivered", to=[EMPLOYER], delivery=delivery)
    return delivery


@transaction.atomic
def order_request_revision(*, order: Order, by: User, message: str, pins: Sequence[Pin] = ()) -> Order:
    """Send the delivery back with what should change, and any open pins placed on it."""
    order = lock_order(order)
    if not message.strip():
        raise ApplicationError("Say what should change: the designer reads your message.")
    if order.status == S.DELIVERED and by.pk == order.employer_id and not order.revisions_left:
        raise ApplicationError("All the revisions included in this order are used. You can complete the order.")
    apply_transition(order, "request_revision", by=by, note=message.strip())
    sent = pins_attach_to_revision(order=order, event=order.events.latest("pk"), pins=pins)
    order.revisions_used += 1
    order.save(update_fields=["status", "revisions_used"])
    notify_parties(order, "revision", to=[FREELANCER], message=message.strip(), pins=sent)
    return order


def _complete(order: Order, action: str, *, by: User | None, note: str = "", notify: bool = True,
              authorized: bool = False) -> Order:
    """Complete the order: the platform keeps its fee, and the order records what its designer
    is owed and when it is paid (payouts opens the payout from these). After a refund (a
    partial one decided in a dispute, or one made at the payment service), the fee is
    computed again on what the employer finally paid."""
    apply_transition(order, action, by=by, note=note, authorized=authorized)
    fee = completion_record(order, refunded=refunded_so_far(order), now=timezone.now())
    order.save(update_fields=["status", "completed_at", "payout_due_at", "owed_cents"])
    ledger_record(order=order, kind=LedgerEntry.Kind.FEE, amount_cents=fee)
    if notify:
        notify_parties(order, "completed")
    return order


def completion_record(order: Order, *, refunded: int, now: datetime) -> int:
    """Set what completing the order records on it (not saved): when, what its designer is
    owed and when it is paid. Returns the platform's fee, computed again on what the client
    finally paid when part was refunded."""
    kept = order.total_cents - refunded
    fee = platform_fee_cents(kept) if refunded else order.fee_cents
    order.completed_at = now
    order.payout_due_at = now + PAYOUT_CLEARING
    order.owed_cents = kept - fee
    return fee


@transaction.atomic
def order_complete(*, order: Order, by: User) -> Order:
    return _complete(lock_order(order), "complete", by=by)


@transaction.atomic
def order_auto_complete(*, order: Order, now: datetime | None = None) -> Order:
    order = lock_order(order)
    if not order.auto_complete_at or (now or timezone.now()) < order.auto_complete_at:
        raise InvalidTransition("This order is not due to complete.")
    return _complete(order, "auto_complete", by=None, note="Completed automatically after 30 days")


# --- reminders ---------------------------------------------------------------------------------------


@transaction.atomic
def order_remind_to_accept(*, order: Order, now: datetime | None = None) -> Order:
    """Once, while the case still waits for the designer."""
    order = lock_order(order)
    if order.status != S.REQUESTED or order.accept_reminder_sent_at:
        raise InvalidTransition("No reminder is due for this order.")
    money_operations_settled(order)  # the designer accepted or declined already: no reminder meanwhile
    order.accept_reminder_sent_at = now or timezone.now()
    order.save(update_fields=["accept_reminder_sent_at"])
    notify_parties(order, "accept_reminder", to=[FREELANCER])
    return order


@transaction.atomic
def order_remind_to_complete(*, order: Order, now: datetime | None = None) -> Order:
    """Once, before the order completes by itself."""
    order = lock_order(order)
    if order.status not in (S.ACCEPTED, S.DELIVERED) or order.complete_reminder_sent_at:
        raise InvalidTransition("No reminder is due for this order.")
    order.complete_reminder_sent_at = now or timezone.now()
    order.save(update_fields=["complete_reminder_sent_at"])
    notify_parties(order, "complete_reminder", to=[EMPLOYER])
    return order


# --- disputes (called by disputes/services.py, which keeps the dispute record) ----------------------------


def order_dispute(*, order: Order, by: User, note: str) -> Order:
    """The employer disputes: auto-completion pauses until staff decide. Call on a locked order."""
    apply_transition(order, "dispute", by=by, note=note)
    order.save(update_fields=["status"])
    return order


def order_refund(*, order: Order, by: User, note: str, authorized: bool = False) -> Order:
    """Staff refunded the whole payment (the refund is in the ledger). Call on a locked order."""
    apply_transition(order, "refund", by=by, note=note, authorized=authorized)
    order.refunded_at = timezone.now()
    order.save(update_fields=["status", "refunded_at"])
    return order


def order_settle(*, order: Order, by: User, note: str, authorized: bool = False) -> Order:
    """Staff refunded part of the payment (the refund is in the ledger); the rest completes
    the order and is paid out. Call on a locked order."""
    return _complete(order, "settle", by=by, note=note, notify=False, authorized=authorized)


def order_resume(*, order: Order, by: User, back_to: str, paused: timedelta, note: str) -> Order:
    """Staff dismissed the dispute: the order returns to the state it had, and its
    auto-completion moves back by the time it spent in dispute."""
    action = {S.ACCEPTED: "resume_accepted", S.DELIVERED: "resume_delivered"}.get(back_to)
    if action is None:
        raise InvalidTransition(f"A disputed order cannot return to {back_to}.")
    apply_transition(order, action, by=by, note=note)
    order.auto_complete_at = order.auto_complete_at + paused
    order.complete_reminder_sent_at = None  # the client is reminded again before the new date
    order.save(update_fields=["status", "auto_complete_at", "complete_reminder_sent_at"])
    return order


# --- storage ---------------------------------------------------------------------------------------


def unpaid_case_files_purge(*, now: datetime | None = None) -> int:
    """Delete the files of cases that ended unpaid (declined, expired, withdrawn; never captured,
    no money step unsettled) more than UNPAID_CASE_FILES_KEPT_DAYS ago: from storage first, then
    on their row (which keeps the name, size and fingerprint). Running it again, or after a
    crash between the two, finishes the work: deleting a file that is already gone is no error."""
    now = now or timezone.now()
    ended_at = OrderEvent.objects.filter(order=OuterRef("order"), to_status=OuterRef("order__status"))
    due = (
        unpaid_case_files().filter(order__status__in=ENDED_UNPAID)
        .exclude(order__money_operations__state=MoneyOperation.State.STARTED)  # money may still move
        .annotate(ended_at=Subquery(ended_at.order_by("-created_at").values("created_at")[:1]))
        .filter(ended_at__lte=now - timedelta(days=settings.UNPAID_CASE_FILES_KEPT_DAYS))
    )
    deleted = 0
    for stored in due.iterator():
        if stored.file:
            stored.file.storage.delete(stored.file.name)
        OrderFile.objects.filter(pk=stored.pk, deleted_at__isnull=True).update(file="", deleted_at=now)
        deleted += 1
    return deleted

"""The escrow state machine. Every change of an order's state goes through here.

Each action locks the order row, checks the actor and the state against TRANSITIONS,
makes its gateway call with a deterministic idempotency key, writes the new state and an
OrderEvent, and sends e-mail after commit. If the gateway fails, the transaction rolls
back: the order keeps its state, no event is written, and the same call can be retried
(the idempotency key makes a retry move the money at most once)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from cadcam.emails import send_templated_email
from cadcam.errors import ApplicationError, InvalidTransition
from cadcam.files import safe_filename, sha256_of
from listings.models import Listing
from orders.models import Delivery, Order, OrderEvent, OrderFile, OrderOption
from payments.backends import get_gateway
from payments.fees import platform_fee_cents
from payments.gateway import GatewayError, PaymentStatus
from payments.ledger import ledger_record
from payments.models import LedgerEntry
from payments.simulated import SimulatedGateway

S = Order.Status

ACCEPT_WINDOW = timedelta(days=3)
AUTO_COMPLETE_AFTER = timedelta(days=30)
PAYOUT_CLEARING = timedelta(days=7)
UNPAID_DROPPED_AFTER = timedelta(hours=1)
MAX_QUANTITY = 100

EMPLOYER, FREELANCER, SYSTEM, STAFF = "employer", "freelancer", "system", "staff"

# action -> (states it may start from, state it leads to, who may do it)
TRANSITIONS: dict[str, tuple[set[str], str, str]] = {
    "authorize": ({S.PENDING_PAYMENT}, S.REQUESTED, SYSTEM),
    "accept": ({S.REQUESTED}, S.ACCEPTED, FREELANCER),
    "decline": ({S.REQUESTED}, S.DECLINED, FREELANCER),
    "withdraw": ({S.PENDING_PAYMENT, S.REQUESTED}, S.WITHDRAWN, EMPLOYER),
    "expire": ({S.PENDING_PAYMENT, S.REQUESTED}, S.EXPIRED, SYSTEM),
    "deliver": ({S.ACCEPTED}, S.DELIVERED, FREELANCER),
    "request_revision": ({S.DELIVERED}, S.ACCEPTED, EMPLOYER),
    "complete": ({S.ACCEPTED, S.DELIVERED}, S.COMPLETED, EMPLOYER),
    "auto_complete": ({S.ACCEPTED, S.DELIVERED}, S.COMPLETED, SYSTEM),
    # Disputes (disputes/services.py opens and resolves them through these).
    "dispute": ({S.ACCEPTED, S.DELIVERED}, S.DISPUTED, EMPLOYER),
    "refund": ({S.DISPUTED}, S.REFUNDED, STAFF),  # in full: nothing paid out, no fee
    "settle": ({S.DISPUTED}, S.COMPLETED, STAFF),  # partly refunded; the rest is paid out
    "resume_accepted": ({S.DISPUTED}, S.ACCEPTED, STAFF),  # dismissed: back to where it was
    "resume_delivered": ({S.DISPUTED}, S.DELIVERED, STAFF),
}
# Actions with a page of their own rather than a button on the order page.
ACTIONS_ELSEWHERE = {"dispute"}


def allowed_actions(order: Order, user: User) -> list[str]:
    """The actions this user may take on this order now (for the order page's buttons)."""
    role = EMPLOYER if user.pk == order.employer_id else FREELANCER if user.pk == order.freelancer_id else None
    actions = [
        action for action, (sources, _, actor) in TRANSITIONS.items()
        if actor == role and order.status in sources and action not in ACTIONS_ELSEWHERE
    ]
    if "request_revision" in actions and not order.revisions_left:
        actions.remove("request_revision")
    return actions


def _lock(order: Order) -> Order:
    return Order.objects.select_for_update().get(pk=order.pk)


def _transition(order: Order, action: str, *, by: User | None, note: str = "") -> Order:
    """Check and apply one transition on a locked order; record the event. Returns the order."""
    sources, target, actor = TRANSITIONS[action]
    if actor == EMPLOYER and (by is None or by.pk != order.employer_id):
        raise ApplicationError("Only the client who sent this case can do that.")
    if actor == FREELANCER and (by is None or by.pk != order.freelancer_id):
        raise ApplicationError("Only the designer of this order can do that.")
    if actor == STAFF and (by is None or not by.is_staff):
        raise ApplicationError("Only staff can do that.")
    if order.status not in sources:
        raise InvalidTransition(f"This order is {order.get_status_display().lower()}: that is not possible now.")
    OrderEvent.objects.create(order=order, actor=by, from_status=order.status, to_status=target, note=note)
    order.status = target
    return order


def _notify(order: Order, event: str, *, to: Sequence[str] = (EMPLOYER, FREELANCER), **context) -> None:
    recipients = {EMPLOYER: order.employer, FREELANCER: order.freelancer}
    for role in to:
        send_templated_email(
            to=recipients[role].email,
            template="order_event",
            context={"order": order, "event": event, "role": role, "recipient": recipients[role], **context},
        )


def _key(action: str, order: Order) -> str:
    return f"{action}:order-{order.pk}"


# --- creating and paying -----------------------------------------------------------------------


def _attach(order: Order, uploads: Sequence, *, by: User, delivery: Delivery | None = None,
            hide_patient_data: bool = True) -> None:
    """Store uploaded files (already checked by the form) privately, with their fingerprint and
    the uploader's choice to hide patient data in exocad summaries from the other party."""
    for upload in uploads:
        name = safe_filename(upload.name)
        stored = OrderFile(order=order, delivery=delivery, uploaded_by=by, name=name, size=upload.size,
                           sha256=sha256_of(upload), hide_patient_data=hide_patient_data)
        stored.file.save(name, upload, save=False)
        stored.save()


@transaction.atomic
def order_create(*, listing: Listing, employer: User, quantity: int = 1, option_ids: Sequence[int] = (),
                 due_date: date | None = None, instructions: str = "", files: Sequence = (),
                 hide_patient_data: bool = True) -> Order:
    """Send a case: the price is computed here from the listing, never taken from the request."""
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
    fee = platform_fee_cents(total)
    order = Order.objects.create(
        employer=employer, freelancer=listing.owner, listing=listing, title=listing.title,
        unit_price_cents=listing.price_cents, unit_name=listing.unit_name if listing.is_per_unit else "",
        quantity=quantity, options_cents=options_cents, total_cents=total, fee_cents=fee, net_cents=total - fee,
        currency=listing.currency, revisions_included=listing.revisions_included,
        turnaround_days=listing.turnaround_days, due_date=due_date, instructions=instructions.strip(),
    )
    OrderOption.objects.bulk_create(OrderOption(order=order, name=o.name, price_cents=o.price_cents) for o in options)
    OrderEvent.objects.create(order=order, actor=employer, to_status=order.status)
    _attach(order, files, by=employer, hide_patient_data=hide_patient_data)
    payment = get_gateway().create_payment(
        amount_cents=total, currency=order.currency, reference=f"order-{order.pk}",
        idempotency_key=_key("payment", order),
    )
    order.payment_id = payment.id
    order.save(update_fields=["payment_id"])
    return order


@transaction.atomic
def order_mark_authorized(*, order: Order) -> Order:
    """The card was authorized (payment page return or gateway webhook, whichever comes
    first): the designer is asked. A second call for the same order changes nothing."""
    order = _lock(order)
    if order.status != S.PENDING_PAYMENT:
        return order
    payment = get_gateway().retrieve(order.payment_id)
    if payment.status != PaymentStatus.REQUIRES_CAPTURE or payment.amount_cents != order.total_cents:
        raise ApplicationError("The payment is not authorized yet.")
    now = timezone.now()
    _transition(order, "authorize", by=None)
    order.authorized_at = now
    order.accept_by = now + ACCEPT_WINDOW
    if order.due_date:
        due = timezone.make_aware(datetime.combine(order.due_date, time.min))
        order.accept_by = min(order.accept_by, due)
    order.save(update_fields=["status", "authorized_at", "accept_by"])
    ledger_record(order=order, kind=LedgerEntry.Kind.AUTHORIZED, amount_cents=payment.amount_cents,
                  gateway_id=payment.id)
    _notify(order, "requested")
    return order


def order_pay_with_test_card(*, order: Order, by: User, approve: bool) -> Order:
    """The simulated gateway's payment page: the test card is authorized (or refused), then
    the order is marked authorized. A repeated click on a payment that already went through
    just carries on."""
    if by.pk != order.employer_id:
        raise ApplicationError("Only the client who sent this case can pay for it.")
    gateway = SimulatedGateway()
    try:
        gateway.customer_pays(payment_id=order.payment_id, approve=approve)
    except GatewayError as error:
        if gateway.retrieve(order.payment_id).status != PaymentStatus.REQUIRES_CAPTURE:
            raise ApplicationError(error.message) from error
    return order_mark_authorized(order=order)


# --- the designer answers -----------------------------------------------------------------------


@transaction.atomic
def order_accept(*, order: Order, by: User) -> Order:
    order = _lock(order)
    _transition(order, "accept", by=by)
    if order.accept_by and timezone.now() > order.accept_by:
        raise InvalidTransition("The time to accept this case has passed.")
    payment = _gateway_call(
        lambda gateway: gateway.capture(payment_id=order.payment_id, idempotency_key=_key("capture", order))
    )
    # The charge is what the freelancer's transfer is later drawn from (source_transaction).
    ledger_record(order=order, kind=LedgerEntry.Kind.CAPTURED, amount_cents=payment.amount_cents,
                  gateway_id=payment.charge_id or payment.id)
    now = timezone.now()
    order.accepted_at = now
    order.auto_complete_at = now + AUTO_COMPLETE_AFTER
    order.save(update_fields=["status", "accepted_at", "auto_complete_at"])
    _notify(order, "accepted")
    return order


def _release(order: Order, action: str, *, by: User | None, note: str = "") -> Order:
    """Decline, withdraw or expire: the authorization is released, nothing is charged."""
    _transition(order, action, by=by, note=note)
    _gateway_call(lambda gateway: gateway.cancel(payment_id=order.payment_id, idempotency_key=_key("cancel", order)))
    order.save(update_fields=["status"])
    _notify(order, order.status, note=note)
    return order


@transaction.atomic
def order_decline(*, order: Order, by: User, reason: str = "") -> Order:
    return _release(_lock(order), "decline", by=by, note=reason.strip())


@transaction.atomic
def order_withdraw(*, order: Order, by: User) -> Order:
    return _release(_lock(order), "withdraw", by=by)


@transaction.atomic
def order_expire(*, order: Order, now: datetime | None = None) -> Order:
    """The designer did not answer in time, or the employer never paid. Re-checked under the lock."""
    order = _lock(order)
    now = now or timezone.now()
    if order.status == S.REQUESTED and order.accept_by and now >= order.accept_by:
        return _release(order, "expire", by=None, note="Not accepted in time")
    if order.status == S.PENDING_PAYMENT and now >= order.created_at + UNPAID_DROPPED_AFTER:
        return _release(order, "expire", by=None, note="Not paid")
    raise InvalidTransition("This order is not due to expire.")


def _gateway_call(call):
    try:
        return call(get_gateway())
    except GatewayError as error:
        raise ApplicationError(f"{error.message} Nothing was changed; please try again.") from error


# --- work and completion --------------------------------------------------------------------------


@transaction.atomic
def order_deliver(*, order: Order, by: User, note: str = "", files: Sequence = (),
                  hide_patient_data: bool = True) -> Delivery:
    order = _lock(order)
    _transition(order, "deliver", by=by, note=note.strip())
    if not files:
        raise ApplicationError("Attach the design files to deliver.")
    delivery = Delivery.objects.create(order=order, number=order.deliveries.count() + 1, note=note.strip())
    _attach(order, files, by=by, delivery=delivery, hide_patient_data=hide_patient_data)
    order.save(update_fields=["status"])
    _notify(order, "delivered", to=[EMPLOYER], delivery=delivery)
    return delivery


@transaction.atomic
def order_request_revision(*, order: Order, by: User, message: str) -> Order:
    order = _lock(order)
    if not message.strip():
        raise ApplicationError("Say what should change: the designer reads your message.")
    if order.status == S.DELIVERED and by.pk == order.employer_id and not order.revisions_left:
        raise ApplicationError("All the revisions included in this order are used. You can complete the order.")
    _transition(order, "request_revision", by=by, note=message.strip())
    order.revisions_used += 1
    order.save(update_fields=["status", "revisions_used"])
    _notify(order, "revision", to=[FREELANCER], message=message.strip())
    return order


def _complete(order: Order, action: str, *, by: User | None, note: str = "", refunded_cents: int = 0,
              notify: bool = True) -> Order:
    """Complete the order: the platform keeps its fee, and the order records what its designer
    is owed and when it is paid (payouts opens the payout from these). After a partial refund,
    the fee is computed again on what the employer finally paid."""
    _transition(order, action, by=by, note=note)
    now = timezone.now()
    kept = order.total_cents - refunded_cents
    fee = platform_fee_cents(kept) if refunded_cents else order.fee_cents
    order.completed_at = now
    order.payout_due_at = now + PAYOUT_CLEARING
    order.owed_cents = kept - fee
    order.save(update_fields=["status", "completed_at", "payout_due_at", "owed_cents"])
    ledger_record(order=order, kind=LedgerEntry.Kind.FEE, amount_cents=fee)
    if notify:
        _notify(order, "completed")
    return order


@transaction.atomic
def order_complete(*, order: Order, by: User) -> Order:
    return _complete(_lock(order), "complete", by=by)


@transaction.atomic
def order_auto_complete(*, order: Order, now: datetime | None = None) -> Order:
    order = _lock(order)
    if not order.auto_complete_at or (now or timezone.now()) < order.auto_complete_at:
        raise InvalidTransition("This order is not due to complete.")
    return _complete(order, "auto_complete", by=None, note="Completed automatically after 30 days")


# --- reminders ---------------------------------------------------------------------------------------


@transaction.atomic
def order_remind_to_accept(*, order: Order, now: datetime | None = None) -> Order:
    """Once, while the case still waits for the designer."""
    order = _lock(order)
    if order.status != S.REQUESTED or order.accept_reminder_sent_at:
        raise InvalidTransition("No reminder is due for this order.")
    order.accept_reminder_sent_at = now or timezone.now()
    order.save(update_fields=["accept_reminder_sent_at"])
    _notify(order, "accept_reminder", to=[FREELANCER])
    return order


@transaction.atomic
def order_remind_to_complete(*, order: Order, now: datetime | None = None) -> Order:
    """Once, before the order completes by itself."""
    order = _lock(order)
    if order.status not in (S.ACCEPTED, S.DELIVERED) or order.complete_reminder_sent_at:
        raise InvalidTransition("No reminder is due for this order.")
    order.complete_reminder_sent_at = now or timezone.now()
    order.save(update_fields=["complete_reminder_sent_at"])
    _notify(order, "complete_reminder", to=[EMPLOYER])
    return order


# --- disputes (called by disputes/services.py, which keeps the dispute record) ----------------------------


def order_dispute(*, order: Order, by: User, note: str) -> Order:
    """The employer disputes: auto-completion pauses until staff decide. Call on a locked order."""
    _transition(order, "dispute", by=by, note=note)
    order.save(update_fields=["status"])
    return order


def order_refund(*, order: Order, by: User, refund, note: str) -> Order:
    """Staff refunded the whole payment. Call on a locked order, after the gateway refund."""
    _transition(order, "refund", by=by, note=note)
    order.refunded_at = timezone.now()
    order.save(update_fields=["status", "refunded_at"])
    ledger_record(order=order, kind=LedgerEntry.Kind.REFUNDED, amount_cents=refund.amount_cents, gateway_id=refund.id)
    return order


def order_settle(*, order: Order, by: User, refund, note: str) -> Order:
    """Staff refunded part of the payment; the rest completes the order and is paid out."""
    ledger_record(order=order, kind=LedgerEntry.Kind.REFUNDED, amount_cents=refund.amount_cents, gateway_id=refund.id)
    return _complete(order, "settle", by=by, note=note, refunded_cents=refund.amount_cents, notify=False)


def order_resume(*, order: Order, by: User, back_to: str, paused: timedelta, note: str) -> Order:
    """Staff dismissed the dispute: the order returns to the state it had, and its
    auto-completion moves back by the time it spent in dispute."""
    action = {S.ACCEPTED: "resume_accepted", S.DELIVERED: "resume_delivered"}.get(back_to)
    if action is None:
        raise InvalidTransition(f"A disputed order cannot return to {back_to}.")
    _transition(order, action, by=by, note=note)
    order.auto_complete_at = order.auto_complete_at + paused
    order.complete_reminder_sent_at = None  # the client is reminded again before the new date
    order.save(update_fields=["status", "auto_complete_at", "complete_reminder_sent_at"])
    return order

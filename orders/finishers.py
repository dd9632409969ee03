"""What the order's money steps lead to once the gateway's outcome is known.

The order services start each gateway call as a recoverable money operation
(payments/operations.py); the finishers here run when its outcome is known, right after the
call or later from the recovery job, in one transaction with the order row locked. They
are registered with payments in OrdersConfig.ready().

- `order.payment`: the PaymentIntent for the client's card exists: the order keeps its id.
- `order.accept`: the capture went through: the order is accepted, unless its acceptance
  is confirmed too late (more than ACCEPT_GRACE after accept_by), when the captured money is
  refunded in full and the order expires.
- `order.release`: the authorization was released (decline, withdrawal, expiry). A payment
  found already captured (an acceptance whose answer was lost, confirmed after the release
  began) is recorded and refunded in full.
- `order.refund_captured`: that refund. A refund the gateway has no record of is tried again
  with a new attempt; one refused is left for staff, who are e-mailed.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from cadcam.errors import ApplicationError
from orders.models import Order, OrderNotice
from orders.notices import order_notices_record
from orders.transitions import (
    ACCEPT_GRACE,
    AUTO_COMPLETE_AFTER,
    S,
    apply_transition,
    apply_transition_many,
    notify_parties,
)
from payments.ledger import ledger_record
from payments.models import LedgerEntry, MoneyOperation
from payments.operations import Outcome, money_operation_run, money_operation_start
from payments.refunds import money_staff_alert

logger = logging.getLogger(__name__)

PAYMENT, ACCEPT, RELEASE, REFUND_CAPTURED = "order.payment", "order.accept", "order.release", "order.refund_captured"
K = LedgerEntry.Kind
# How many times a refund of a late capture is tried before staff take over.
REFUND_ATTEMPTS = 5


def _person(operation: MoneyOperation) -> User | None:
    pk = operation.context.get("by")
    return User.objects.filter(pk=pk).first() if pk else None


def _run_after_commit(operation: MoneyOperation) -> None:
    """Make a follow-up call once this transaction commits; if the answer is lost, the
    recovery job finishes it like any other."""
    def run():
        try:
            money_operation_run(operation)
        except ApplicationError as error:
            logger.warning("%s: %s", operation.idempotency_key, error.message)

    transaction.on_commit(run)


def payment_set_up(*, operation: MoneyOperation, order: Order, outcome: Outcome) -> None:
    if outcome.succeeded and not order.payment_id:
        order.payment_id = outcome.gateway_id
        order.save(update_fields=["payment_id"])


def accept_finished(*, operation: MoneyOperation, order: Order, outcome: Outcome) -> None:
    if not outcome.succeeded:
        return  # nothing was captured: the order waits for the designer as before
    captured = outcome.result.get("amount_cents") or operation.amount_cents
    ledger_record(order=order, kind=K.CAPTURED, amount_cents=captured, gateway_id=outcome.gateway_id)
    now = timezone.now()
    in_time = order.status == S.REQUESTED and (order.accept_by is None or now <= order.accept_by + ACCEPT_GRACE)
    if not in_time:
        _refund_captured(order, captured, why="accepted_late")
        return
    apply_transition(order, "accept", by=_person(operation), authorized=True)
    order.accepted_at = now
    order.auto_complete_at = now + AUTO_COMPLETE_AFTER
    order.save(update_fields=["status", "accepted_at", "auto_complete_at"])
    notify_parties(order, "accepted")


def release_finished(*, operation: MoneyOperation, order: Order, outcome: Outcome) -> None:
    if not outcome.succeeded:
        return  # the authorization still holds: the order is as it was
    action, note = operation.context["action"], operation.context.get("note", "")
    if order.status in (S.PENDING_PAYMENT, S.REQUESTED):
        apply_transition(order, action, by=_person(operation), note=note, authorized=True)
        order.save(update_fields=["status"])
        if operation.context.get("sweep"):  # told in the sweep's e-mail to each party (orders/notices.py)
            order_notices_record([order], OrderNotice.Kind.EXPIRED, notes={order.pk: note})
        else:
            notify_parties(order, order.status, note=note)
    if outcome.result.get("captured"):  # the money was taken after all: give it back
        captured = outcome.result.get("amount_cents") or order.total_cents
        ledger_record(order=order, kind=K.CAPTURED, amount_cents=captured, gateway_id=outcome.gateway_id)
        _refund_captured(order, captured, why="captured_on_release")


def release_finished_many(*, items: list) -> None:
    """The deadline sweep's releases, finished as a batch (payments/batches.py): the orders whose
    authorization was released and that still wait expire together, one event each, one
    UPDATE and one INSERT of notices; anything else (a failure, money found captured, a release
    started by a person) goes through release_finished one by one."""
    plain, notes = [], {}
    for operation, order, outcome in items:
        simple = (outcome.succeeded and not outcome.result.get("captured") and operation.context.get("sweep")
                  and operation.context["action"] == "expire" and order.status in (S.PENDING_PAYMENT, S.REQUESTED))
        if simple:
            plain.append(order)
            notes[order.pk] = operation.context.get("note", "")
        else:
            release_finished(operation=operation, order=order, outcome=outcome)
    if plain:
        apply_transition_many(plain, "expire", notes=notes)
        Order.objects.filter(pk__in=[order.pk for order in plain]).update(status=S.EXPIRED)
        order_notices_record(plain, OrderNotice.Kind.EXPIRED, notes=notes)


def _refund_captured(order: Order, amount_cents: int, *, why: str) -> None:
    """Money captured for an order that will not go on: expire it (if it still waits) and
    refund the whole capture."""
    if order.status == S.REQUESTED:
        apply_transition(order, "expire", by=None,
                         note="The acceptance was confirmed too late: the payment is refunded in full")
        order.save(update_fields=["status"])
    operation = money_operation_start(order=order, kind=MoneyOperation.Kind.REFUND, purpose=REFUND_CAPTURED,
                                      amount_cents=amount_cents, params={"payment_id": order.payment_id},
                                      context={"why": why})
    _run_after_commit(operation)


def refund_captured_finished(*, operation: MoneyOperation, order: Order, outcome: Outcome) -> None:
    if outcome.succeeded:
        ledger_record(order=order, kind=K.REFUNDED, amount_cents=operation.amount_cents,
                      gateway_id=outcome.gateway_id, note="Captured after the order ended: refunded in full")
        notify_parties(order, "refunded_captured")
        return
    if outcome.recovered and operation.attempt < REFUND_ATTEMPTS and outcome.error == "not found at the gateway":
        retry = money_operation_start(order=order, kind=operation.kind, purpose=REFUND_CAPTURED,
                                      amount_cents=operation.amount_cents, params=operation.params,
                                      context=operation.context)
        _run_after_commit(retry)
        return
    money_staff_alert(order=order, subject="A refund of money captured after the order ended failed",
                      lines=[f"{operation.idempotency_key}: {operation.amount_display}, {outcome.error}",
                             "Refund the client in Stripe's dashboard; CadCam Masters records it from Stripe's event."])


BATCH_FINISHERS = {RELEASE: release_finished_many}

FINISHERS = {
    PAYMENT: payment_set_up,
    ACCEPT: accept_finished,
    RELEASE: release_finished,
    REFUND_CAPTURED: refund_captured_finished,
}

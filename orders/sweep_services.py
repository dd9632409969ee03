"""The deadline sweep's services: order_expire, order_auto_complete and the reminders
(orders/services.py), done for a chunk of due orders at once.

Each still makes every order's change a locked, recorded transition: the chunk's rows are
locked (`FOR UPDATE SKIP LOCKED`, in pk order: a row a person is changing right now is left
for the next sweep), the deadline is checked again in the same query, orders with a payment
step whose outcome is unknown wait, and each order gets its own OrderEvent, ledger row and
notices for the sweep's e-mail (orders/notices.py). Only the statements are shared: one
UPDATE, one INSERT of events, one of notices, instead of a dozen statements per order.

Releasing authorizations at expiry is a batch of recoverable money operations
(payments/batches.py): the attempts (`cancel:order-<id>:<n>`) are committed with the orders
locked, then the gateway is called (in bulk where it can be), then the outcomes are finished
together. If the chunk dies after the call, the attempts are started and the recovery job
finishes each one through orders/finishers.py, as it would a single expiry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from orders.finishers import RELEASE
from orders.models import Order, OrderNotice
from orders.notices import order_notices_record
from orders.services import completion_record, expiry_note
from orders.transitions import UNPAID_DROPPED_AFTER, S, apply_transition_many
from payments.batches import money_operations_run_many, money_operations_start_many, money_operations_unsettled
from payments.ledger import ledger_balances
from payments.models import LedgerEntry, MoneyOperation

N = OrderNotice.Kind
L = LedgerEntry.Kind
ACCEPT_REMINDER_BEFORE = timedelta(hours=24)
COMPLETE_REMINDER_BEFORE = timedelta(days=3)


@dataclass
class Done:
    """What a chunk did, by order id."""

    done: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)  # a payment step is being confirmed: next run
    failed: list[int] = field(default_factory=list)  # the gateway refused: logged, next run


def due_to_expire(now: datetime) -> Q:
    return (Q(status=S.REQUESTED, accept_by__lte=now)
            | Q(status=S.PENDING_PAYMENT, created_at__lte=now - UNPAID_DROPPED_AFTER))


def due_to_complete(now: datetime) -> Q:
    return Q(status__in=[S.ACCEPTED, S.DELIVERED], auto_complete_at__lte=now)


def due_for_accept_reminder(now: datetime) -> Q:
    # Not yet past the deadline: an order past it expires instead.
    return Q(status=S.REQUESTED, accept_reminder_sent_at__isnull=True, accept_by__gt=now,
             accept_by__lte=now + ACCEPT_REMINDER_BEFORE)


def due_for_complete_reminder(now: datetime) -> Q:
    return Q(status__in=[S.ACCEPTED, S.DELIVERED], complete_reminder_sent_at__isnull=True, auto_complete_at__gt=now,
             auto_complete_at__lte=now + COMPLETE_REMINDER_BEFORE)


def _lock_due(due: QuerySet, limit: int, result: Done) -> list[Order]:
    """Lock the due orders of the chunk (skipping rows held elsewhere), leaving out those with a
    payment step being confirmed."""
    orders = list(due.select_for_update(of=("self",), skip_locked=True).order_by("pk")[:limit])
    busy = money_operations_unsettled([order.pk for order in orders])
    result.waiting += sorted(busy)
    return [order for order in orders if order.pk not in busy]


def orders_expire_due(*, due: QuerySet, now: datetime, limit: int) -> Done:
    """order_expire for the due orders of `due` (the designer did not answer in time, or the
    client never paid): released at the gateway, then expired with "Not accepted in time" /
    "Not paid" on the timeline."""
    result = Done()
    with transaction.atomic(durable=True):
        orders = _lock_due(due.filter(due_to_expire(now)), limit, result)
        notes = {order.pk: expiry_note(order, now) for order in orders}
        unpaid = [order for order in orders if not order.payment_id]  # never set up: nothing to release
        if unpaid:
            apply_transition_many(unpaid, "expire", notes=notes)
            Order.objects.filter(pk__in=[order.pk for order in unpaid]).update(status=S.EXPIRED)
            order_notices_record(unpaid, N.EXPIRED, notes=notes)
            result.done += [order.pk for order in unpaid]
        operations = money_operations_start_many(
            orders=[order for order in orders if order.payment_id], kind=MoneyOperation.Kind.CANCEL,
            purpose=RELEASE, amount=lambda order: order.total_cents,
            params=lambda order: {"payment_id": order.payment_id},
            context=lambda order: {"action": "expire", "by": None, "note": notes[order.pk], "sweep": True},
        )
    finished = {operation.order_id: operation for operation in money_operations_run_many(operations)}
    expired = set(Order.objects.filter(pk__in=list(finished), status=S.EXPIRED).values_list("pk", flat=True))
    for operation in operations:
        done = finished.get(operation.order_id)
        if done is None:
            result.waiting.append(operation.order_id)  # no clear answer: the recovery job finishes it
        elif operation.order_id in expired:
            result.done.append(operation.order_id)
        else:
            result.failed.append(operation.order_id)
    return result


def orders_auto_complete_due(*, due: QuerySet, now: datetime, limit: int) -> Done:
    """order_auto_complete for the due orders of `due`: completed 30 days after acceptance,
    with what the designer is owed and the platform's fee in the ledger."""
    result = Done()
    with transaction.atomic(durable=True):
        orders = _lock_due(due.filter(due_to_complete(now)), limit, result)
        if not orders:
            return result
        ids = [order.pk for order in orders]
        balances = ledger_balances(ids)  # what went back to each client's card, in one query
        apply_transition_many(orders, "auto_complete",
                              notes=dict.fromkeys(ids, "Completed automatically after 30 days"))
        completed_at = timezone.now()
        fees = {}
        for order in orders:
            fees[order.pk] = completion_record(order, refunded=balances[order.pk].refunded, now=completed_at)
        Order.objects.bulk_update(orders, ["status", "completed_at", "payout_due_at", "owed_cents"])
        has_fee = set(LedgerEntry.objects.filter(order_id__in=ids, kind=L.FEE).values_list("order_id", flat=True))
        LedgerEntry.objects.bulk_create(LedgerEntry(order=order, kind=L.FEE, amount_cents=fees[order.pk],
                                                    currency=order.currency)
                                        for order in orders if order.pk not in has_fee)
        order_notices_record(orders, N.COMPLETED)
        result.done += ids
    return result


def _remind(due: QuerySet, now: datetime, limit: int, *, sent_field: str, kind: str, wait_for_money: bool) -> Done:
    result = Done()
    with transaction.atomic(durable=True):
        if wait_for_money:
            orders = _lock_due(due, limit, result)
        else:
            orders = list(due.select_for_update(of=("self",), skip_locked=True).order_by("pk")[:limit])
        Order.objects.filter(pk__in=[order.pk for order in orders]).update(**{sent_field: now})
        order_notices_record(orders, kind)
        result.done += [order.pk for order in orders]
    return result


def orders_remind_to_accept_due(*, due: QuerySet, now: datetime, limit: int) -> Done:
    """order_remind_to_accept for the due orders: once, a day before the case expires; not while
    the designer's answer is being confirmed with the payment service."""
    return _remind(due.filter(due_for_accept_reminder(now)), now, limit, sent_field="accept_reminder_sent_at",
                   kind=N.ACCEPT_REMINDER, wait_for_money=True)


def orders_remind_to_complete_due(*, due: QuerySet, now: datetime, limit: int) -> Done:
    """order_remind_to_complete for the due orders: once, 3 days before the order completes by itself."""
    return _remind(due.filter(due_for_complete_reminder(now)), now, limit, sent_field="complete_reminder_sent_at",
                   kind=N.COMPLETE_REMINDER, wait_for_money=False)


# kind of chunk -> (which orders are due, the service that handles a chunk of them)
SERVICES: dict[str, tuple[Callable[[datetime], Q], Callable[..., Done]]] = {
    "expire": (due_to_expire, orders_expire_due),
    "complete": (due_to_complete, orders_auto_complete_due),
    "remind_accept": (due_for_accept_reminder, orders_remind_to_accept_due),
    "remind_complete": (due_for_complete_reminder, orders_remind_to_complete_due),
}

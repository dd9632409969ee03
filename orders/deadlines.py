"""The deadline sweep: expiries, automatic completions and reminders that are due, and the
files of cases that ended unpaid whose grace period is over.

It finds candidates without locks, then calls the same services people use, which take
the row lock and check the deadline again, so two sweeps at once, or a sweep racing an
employer's "complete", change each order once. An order whose payment step is being
confirmed waits for the next run; a gateway that refuses is logged and tried again."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from cadcam.errors import ApplicationError, InvalidTransition
from orders.models import Order
from orders.services import (
    order_auto_complete,
    order_expire,
    order_remind_to_accept,
    order_remind_to_complete,
    unpaid_case_files_purge,
)
from orders.transitions import UNPAID_DROPPED_AFTER
from payments.operations import PaymentStepPending

logger = logging.getLogger(__name__)

S = Order.Status
ACCEPT_REMINDER_BEFORE = timedelta(hours=24)
COMPLETE_REMINDER_BEFORE = timedelta(days=3)


@dataclass
class SweepResult:
    expired: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)  # a payment step is being confirmed: next run
    failed: list[int] = field(default_factory=list)  # the gateway refused: logged, next run
    files_deleted: int = 0  # case files of orders that ended unpaid, past their grace period


def _each(ids, handle, result: SweepResult) -> list[int]:
    done = []
    for pk in ids:
        try:
            handle(Order(pk=pk))
        except InvalidTransition:  # changed meanwhile: no longer due
            continue
        except PaymentStepPending:  # the recovery job confirms a payment step first
            if pk not in result.waiting:
                result.waiting.append(pk)
            continue
        except ApplicationError as error:  # the gateway refused: logged, and the next run tries again
            logger.warning("Order %s: %s", pk, error.message)
            result.failed.append(pk)
            continue
        done.append(pk)
    return done


def orders_sweep(*, now: datetime | None = None) -> SweepResult:
    now = now or timezone.now()
    result = SweepResult()
    due_to_expire = Order.objects.filter(status=S.REQUESTED, accept_by__lte=now).values_list("pk", flat=True)
    unpaid = Order.objects.filter(status=S.PENDING_PAYMENT, created_at__lte=now - UNPAID_DROPPED_AFTER)
    result.expired = _each(
        [*due_to_expire, *unpaid.values_list("pk", flat=True)], lambda order: order_expire(order=order, now=now),
        result,
    )
    due_to_complete = Order.objects.filter(
        status__in=[S.ACCEPTED, S.DELIVERED], auto_complete_at__lte=now
    ).values_list("pk", flat=True)
    result.completed = _each(due_to_complete, lambda order: order_auto_complete(order=order, now=now), result)
    result.reminded = _send_reminders(now, result)
    result.files_deleted = unpaid_case_files_purge(now=now)
    return result


def _send_reminders(now: datetime, result: SweepResult) -> list[int]:
    to_accept = Order.objects.filter(
        status=S.REQUESTED, accept_reminder_sent_at__isnull=True, accept_by__lte=now + ACCEPT_REMINDER_BEFORE
    ).values_list("pk", flat=True)
    to_complete = Order.objects.filter(
        status__in=[S.ACCEPTED, S.DELIVERED], complete_reminder_sent_at__isnull=True,
        auto_complete_at__lte=now + COMPLETE_REMINDER_BEFORE,
    ).values_list("pk", flat=True)
    return _each(to_accept, lambda order: order_remind_to_accept(order=order, now=now), result) + _each(
        to_complete, lambda order: order_remind_to_complete(order=order, now=now), result)

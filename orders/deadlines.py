"""The deadline sweep: expiries, automatic completions and reminders that are due.

It finds candidates without locks, then calls the same services people use, which take
the row lock and check the deadline again. Rows another sweep (or a person) holds are
skipped and picked up by the next run, so two sweeps at once, or a sweep racing an
employer's "complete", change each order once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from cadcam.errors import ApplicationError
from orders.models import Order
from orders.services import (
    UNPAID_DROPPED_AFTER,
    order_auto_complete,
    order_expire,
    order_remind_to_accept,
    order_remind_to_complete,
)

S = Order.Status
ACCEPT_REMINDER_BEFORE = timedelta(hours=24)
COMPLETE_REMINDER_BEFORE = timedelta(days=3)


@dataclass
class SweepResult:
    expired: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)


def _each_unlocked(ids, handle) -> list[int]:
    done = []
    for pk in ids:
        with transaction.atomic():
            order = Order.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if order is None:
                continue
            try:
                handle(order)
            except ApplicationError:  # changed meanwhile: no longer due
                continue
            done.append(pk)
    return done


def orders_sweep(*, now: datetime | None = None) -> SweepResult:
    now = now or timezone.now()
    result = SweepResult()
    due_to_expire = Order.objects.filter(status=S.REQUESTED, accept_by__lte=now).values_list("pk", flat=True)
    unpaid = Order.objects.filter(status=S.PENDING_PAYMENT, created_at__lte=now - UNPAID_DROPPED_AFTER)
    result.expired = _each_unlocked(
        [*due_to_expire, *unpaid.values_list("pk", flat=True)], lambda order: order_expire(order=order, now=now)
    )
    due_to_complete = Order.objects.filter(
        status__in=[S.ACCEPTED, S.DELIVERED], auto_complete_at__lte=now
    ).values_list("pk", flat=True)
    result.completed = _each_unlocked(due_to_complete, lambda order: order_auto_complete(order=order, now=now))
    result.reminded = _send_reminders(now)
    return result


def _send_reminders(now: datetime) -> list[int]:
    to_accept = Order.objects.filter(
        status=S.REQUESTED, accept_reminder_sent_at__isnull=True, accept_by__lte=now + ACCEPT_REMINDER_BEFORE
    ).values_list("pk", flat=True)
    to_complete = Order.objects.filter(
        status__in=[S.ACCEPTED, S.DELIVERED], complete_reminder_sent_at__isnull=True,
        auto_complete_at__lte=now + COMPLETE_REMINDER_BEFORE,
    ).values_list("pk", flat=True)
    return _each_unlocked(
        to_accept, lambda order: order_remind_to_accept(order=order, now=now)
    ) + _each_unlocked(to_complete, lambda order: order_remind_to_complete(order=order, now=now))

"""The money core's Celery tasks: Stripe events retried on a deadlock, the recovery job.
(The daily reconciliation's e-mail is tested in orders/tests, which can make orders.)"""

import psycopg
import pytest
from celery.exceptions import Retry
from django.db import OperationalError

from payments import tasks
from payments.models import MoneyOperation, StripeEvent
from payments.tasks import process_stripe_event, recover_money_operations

pytestmark = pytest.mark.django_db


def deadlock() -> OperationalError:
    """What Django raises when PostgreSQL broke a deadlock by rolling our transaction back."""
    error = OperationalError("deadlock detected")
    error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    return error


def test_a_stripe_event_that_deadlocks_is_retried_soon_not_marked_failed(monkeypatch):
    event = StripeEvent.objects.create(event_id="evt_1", type="account.updated", payload={})
    monkeypatch.setattr(tasks, "stripe_event_process", lambda **kwargs: (_ for _ in ()).throw(deadlock()))
    retries = []
    monkeypatch.setattr(process_stripe_event, "retry", lambda **kwargs: retries.append(kwargs) or Retry())

    with pytest.raises(Retry):
        process_stripe_event.run(event.pk)

    assert retries and retries[0]["countdown"] <= 60
    event.refresh_from_db()
    assert event.processed_at is None and not event.outcome.startswith("failed")


def test_another_database_error_is_noted_on_the_event_and_raised(monkeypatch):
    event = StripeEvent.objects.create(event_id="evt_2", type="account.updated", payload={})
    monkeypatch.setattr(tasks, "stripe_event_process",
                        lambda **kwargs: (_ for _ in ()).throw(OperationalError("disk full")))

    with pytest.raises(OperationalError):
        process_stripe_event.run(event.pk)

    event.refresh_from_db()
    assert event.outcome == "failed: OperationalError: disk full"


def test_the_recovery_task_runs_the_recovery_job(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks, "money_recover", lambda: calls.append(True) or {"succeeded": 0})
    assert recover_money_operations.run() == {"succeeded": 0}
    assert calls == [True]
    assert not MoneyOperation.objects.exists()

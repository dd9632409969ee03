from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from cadcam.errors import ApplicationError
from cadcam.metrics import record_job
from payments.operations import money_recover
from payments.reconcile import reconcile, reconcile_gateway
from payments.refunds import staff_reconcile_alert
from payments.webhooks import stripe_event_failed, stripe_event_process, stripe_events_unprocessed

# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back
# and can simply run again.
RETRYABLE_SQLSTATES = {"40P01", "40001"}


def retryable_database_error(error: OperationalError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) in RETRYABLE_SQLSTATES


@shared_task(bind=True, max_retries=8)
def process_stripe_event(self, event_pk: int) -> str:
    try:
        return stripe_event_process(event_pk=event_pk)
    except ApplicationError as error:  # the gateway did not answer, or a payment step is pending: later
        stripe_event_failed(event_pk=event_pk, error=error.message)
        raise self.retry(exc=error, countdown=min(3600, 30 * 2 ** self.request.retries)) from error
    except OperationalError as error:
        if not retryable_database_error(error):
            stripe_event_failed(event_pk=event_pk, error=f"{type(error).__name__}: {error}")
            raise
        # Another transaction held the rows the other way round: nothing was written; again soon.
        raise self.retry(exc=error, countdown=min(60, 2 ** self.request.retries)) from error
    except Exception as error:  # a bug: kept unprocessed with the reason, requeued by the sweep
        stripe_event_failed(event_pk=event_pk, error=f"{type(error).__name__}: {error}")
        raise


@shared_task
def requeue_stripe_events() -> int:
    """Beat, every 10 minutes: queue again the events that were never processed."""
    ids = stripe_events_unprocessed()
    for pk in ids:
        process_stripe_event.delay(pk)
    return len(ids)


@shared_task
def recover_money_operations() -> dict:
    """Beat, every minute: finish the gateway calls whose answer was lost."""
    with record_job("money_recover"):
        return money_recover()


@shared_task
def reconcile_daily() -> dict:
    """Beat, daily: the ledger against itself and the orders' states, and against the gateway
    for the orders of the last RECONCILE_GATEWAY_DAYS days; staff are e-mailed any difference."""
    report = reconcile()
    since = timezone.now() - timedelta(days=settings.RECONCILE_GATEWAY_DAYS)
    gateway = reconcile_gateway(since=since)
    problems = report.problems + gateway.problems
    if problems:
        staff_reconcile_alert(problems=problems)
    return {"orders": report.orders, "gateway_orders": gateway.orders, "problems": len(problems)}

from celery import shared_task

from cadcam.errors import ApplicationError
from payments.webhooks import stripe_event_failed, stripe_event_process, stripe_events_unprocessed


@shared_task(bind=True, max_retries=8)
def process_stripe_event(self, event_pk: int) -> str:
    try:
        return stripe_event_process(event_pk=event_pk)
    except ApplicationError as error:  # the gateway did not answer: try again later
        stripe_event_failed(event_pk=event_pk, error=error.message)
        raise self.retry(exc=error, countdown=min(3600, 30 * 2 ** self.request.retries)) from error
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

from celery import shared_task


@shared_task
def run_payouts() -> dict:
    from payouts.services import payouts_run

    return payouts_run()


@shared_task
def transfer_payouts_of(user_id: int) -> int:
    from payouts.services import payouts_transfer_waiting

    return payouts_transfer_waiting(user_id=user_id)


@shared_task(bind=True, max_retries=8)
def process_stripe_event(self, event_pk: int) -> str:
    from cadcam.errors import ApplicationError
    from payouts.webhooks import stripe_event_failed, stripe_event_process

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
    from payouts.webhooks import stripe_events_requeue

    return stripe_events_requeue()

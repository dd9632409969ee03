from celery import shared_task


@shared_task
def run_payouts() -> dict:
    from payouts.services import payouts_run

    return payouts_run()


@shared_task
def transfer_payouts_of(user_id: int) -> int:
    from payouts.services import payouts_transfer_waiting

    return payouts_transfer_waiting(user_id=user_id)


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=8)
def process_stripe_event(event_pk: int) -> str:
    from payouts.webhooks import stripe_event_process

    return stripe_event_process(event_pk=event_pk)

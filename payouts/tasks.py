from celery import shared_task

from cadcam.metrics import record_job
from payouts.services import payouts_run, payouts_transfer_waiting


@shared_task
def run_payouts() -> dict:
    """Beat: open the payouts of newly completed orders and send those that are due."""
    with record_job("payouts"):
        return payouts_run()


@shared_task
def transfer_payouts_of(user_id: int) -> int:
    """Queued when a designer's account starts accepting payouts: send what waited for it."""
    return payouts_transfer_waiting(user_id=user_id)

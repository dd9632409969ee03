from celery import shared_task

from reviews.services import reviews_sweep


@shared_task
def run_review_sweep() -> dict:
    """Reveal the reviews whose window ended and send the reminders due."""
    result = reviews_sweep()
    return {"revealed": result.revealed, "reminded": [list(item) for item in result.reminded]}

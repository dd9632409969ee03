from celery import shared_task

from cadcam.metrics import record_job
from orders.deadlines import orders_sweep


@shared_task
def run_deadlines() -> dict:
    with record_job("order_deadlines"):
        result = orders_sweep()
    return {"expired": result.expired, "completed": result.completed, "reminded": result.reminded,
            "waiting": result.waiting, "failed": result.failed, "files_deleted": result.files_deleted}

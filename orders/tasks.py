from celery import shared_task

from orders.deadlines import orders_sweep


@shared_task
def run_deadlines() -> dict:
    result = orders_sweep()
    return {"expired": result.expired, "completed": result.completed, "reminded": result.reminded,
            "waiting": result.waiting, "failed": result.failed, "files_deleted": result.files_deleted}

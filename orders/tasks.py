from celery import shared_task


@shared_task
def run_deadlines() -> dict:
    from orders.deadlines import orders_sweep

    result = orders_sweep()
    return {"expired": result.expired, "completed": result.completed, "reminded": result.reminded}

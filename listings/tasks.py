from celery import shared_task


@shared_task
def expire_listings() -> int:
    from listings.services import listings_expire

    return listings_expire()

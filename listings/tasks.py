from celery import shared_task

from listings.services import listings_expire


@shared_task
def expire_listings() -> int:
    return listings_expire()

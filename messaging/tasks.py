from celery import shared_task

from messaging.services import unread_notifications_send


@shared_task
def send_unread_notifications() -> int:
    """Beat, every minute: e-mail participants about messages they have not read (batched)."""
    return unread_notifications_send()

from celery import shared_task


@shared_task
def send_unread_notifications() -> int:
    """Beat, every minute: e-mail participants about messages they have not read (batched)."""
    from messaging.services import unread_notifications_send

    return unread_notifications_send()

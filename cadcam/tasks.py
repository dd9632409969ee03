from celery import shared_task
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command

from cadcam.direct_uploads import direct_upload_finish_task, direct_uploads_sweep  # noqa: F401 - registers the task
from cadcam.metrics import BEAT_HEARTBEAT, record_job


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_email(*, subject: str, text: str, html: str, to: list[str], from_email: str, headers: dict) -> None:
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=from_email, to=to, headers=headers)
    message.attach_alternative(html, "text/html")
    message.send()


@shared_task
def clear_expired_sessions() -> None:
    call_command("clearsessions")


@shared_task
def sweep_direct_uploads() -> dict:
    with record_job("direct_uploads_sweep"):
        return direct_uploads_sweep()


@shared_task
def beat_heartbeat() -> None:
    """Beat, every minute: proves the beat and a worker run (/readyz shows its age)."""
    with record_job(BEAT_HEARTBEAT):
        pass

from celery import shared_task


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_email(*, subject: str, text: str, html: str, to: list[str], from_email: str, headers: dict) -> None:
    from django.core.mail import EmailMultiAlternatives

    message = EmailMultiAlternatives(subject=subject, body=text, from_email=from_email, to=to, headers=headers)
    message.attach_alternative(html, "text/html")
    message.send()


@shared_task
def clear_expired_sessions() -> None:
    from django.core.management import call_command

    call_command("clearsessions")

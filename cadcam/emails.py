"""E-mail: rendered in the request (or task) that decides to send, delivered by a
Celery task after the surrounding transaction commits.

Every message has a plain-text and an HTML part sharing one layout:
`emails/base.txt` and `emails/base.html`. Our own messages are written as templates
(`send_templated_email`); a message rendered with only a text body (allauth's account
e-mails) gets its HTML part by placing that text in the HTML layout.
"""

from __future__ import annotations

import html
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

from cadcam.tasks import send_email


def html_from_text(*, subject: str, text: str) -> str:
    return render_to_string("emails/text_as_html.html", {"subject": subject, "text": text})


def queue_email(message: EmailMessage) -> None:
    """Deliver a rendered message from a Celery task once the transaction commits."""
    html = None
    if isinstance(message, EmailMultiAlternatives):
        html = next((content for content, mimetype in message.alternatives if mimetype == "text/html"), None)
    if html is None:
        html = html_from_text(subject=message.subject, text=message.body)
    payload = {
        "subject": message.subject,
        "text": message.body,
        "html": html,
        "to": list(message.to),
        "from_email": message.from_email or settings.DEFAULT_FROM_EMAIL,
        "headers": dict(message.extra_headers),
    }
    transaction.on_commit(lambda: send_email.delay(**payload))



def send_templated_email(*, to: str | list[str], template: str, context: dict[str, Any]) -> None:
    """Render emails/<template>_subject.txt, .txt and .html and queue the message.

    The .txt and .html templates extend emails/base.txt and emails/base.html."""
    site_url = f"{settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL}://{settings.SITE_DOMAIN}"
    context = {**context, "site_url": site_url}
    # A subject is a plain-text header: undo the HTML escaping templates apply ("O'Brien", "A & B").
    subject = " ".join(html.unescape(render_to_string(f"emails/{template}_subject.txt", context)).split())
    subject = settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject
    context["subject"] = subject
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{template}.txt", context).strip(),
        to=[to] if isinstance(to, str) else list(to),
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    queue_email(message)

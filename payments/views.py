"""The Stripe webhook endpoints: `/webhooks/stripe/` (the platform's own objects) and
`/webhooks/stripe/connect/` (events of connected accounts: account.updated, payout.*).

Each verifies the signature on the raw body with the SDK and its own secret, refuses an event
signed more than five minutes ago or ahead (the SDK checks only the past), stores the event
once (its id is unique) and answers at once; a Celery task processes it (payments/webhooks.py)."""

import re
import time

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments.models import StripeEvent
from payments.tasks import process_stripe_event
from payments.webhooks import CONNECT, PLATFORM


def _queue(event_pk: int) -> None:
    # robust: a broker outage must not turn into an error answer; the requeue job picks it up.
    transaction.on_commit(lambda: process_stripe_event.delay(event_pk), robust=True)


SIGNATURE_TOLERANCE = 300  # seconds either side of our clock


def _signed_at(header: str) -> int | None:
    """The `t=` timestamp of a Stripe-Signature header, read as the SDK reads it (the first item
    named exactly `t`), but only from a header with one such item of plain digits: with any other
    spelling ("t=+123", "t= 123", two `t` items) the SDK could verify one time and we check
    another, so it is refused."""
    items = [item for item in header.split(",") if item.split("=", 2)[0] == "t"]
    if len(items) != 1 or not re.fullmatch(r"t=[0-9]{1,12}", items[0]):
        return None
    return int(items[0][2:])


def _without_nul(value):
    """The payload with NUL characters removed from its strings: PostgreSQL's jsonb refuses them,
    and a text someone else chose (a business or card holder's name) must not keep an event from
    being stored."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _receive(request, *, secret: str, endpoint: str):
    header = request.headers.get("Stripe-Signature", "")
    try:
        event = stripe.Webhook.construct_event(
            payload=request.body, sig_header=header, secret=secret, tolerance=SIGNATURE_TOLERANCE,
        )
    except (ValueError, stripe.SignatureVerificationError):
        return HttpResponseBadRequest("Invalid payload or signature.")
    signed_at = _signed_at(header)
    if signed_at is None or signed_at > time.time() + SIGNATURE_TOLERANCE:
        return HttpResponseBadRequest("The signature's timestamp is missing, malformed or in the future.")
    payload = _without_nul(event.to_dict())
    try:
        with transaction.atomic():
            stored = StripeEvent.objects.create(
                event_id=payload["id"], type=payload["type"], endpoint=endpoint,
                account=payload.get("account") or "", payload=payload,
            )
            _queue(stored.pk)
    except IntegrityError:
        # Stripe sends it again: if we never got to process it, try now.
        waiting = StripeEvent.objects.filter(event_id=payload["id"], processed_at__isnull=True).first()
        if waiting:
            _queue(waiting.pk)
        return HttpResponse("Already received.")
    return HttpResponse("OK")


@csrf_exempt
@require_POST
def stripe_webhook(request):
    return _receive(request, secret=settings.STRIPE_WEBHOOK_SECRET, endpoint=PLATFORM)


@csrf_exempt
@require_POST
def stripe_connect_webhook(request):
    return _receive(request, secret=settings.STRIPE_CONNECT_WEBHOOK_SECRET, endpoint=CONNECT)

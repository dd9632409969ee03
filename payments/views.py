"""The Stripe webhook endpoints: `/webhooks/stripe/` (the platform's own objects) and
`/webhooks/stripe/connect/` (events of connected accounts: account.updated, payout.*).

Each verifies the signature on the raw body with the SDK and its own secret, refuses an event
signed more than five minutes ago or ahead (the SDK checks only the past), stores the event
once (its id is unique) and answers at once; a Celery task processes it (payments/webhooks.py)."""

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
    """The `t=` timestamp of a Stripe-Signature header (already verified by the SDK)."""
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            return int(value)
    return None


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
        return HttpResponseBadRequest("The signature's timestamp is in the future.")
    payload = event.to_dict()
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

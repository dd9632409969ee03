"""Stripe webhooks: verify the signature on the raw body with the SDK, store each event id
once, and hand the event to the same services people trigger, in one transaction.

Repeated and out-of-order events are harmless: a stored event id is acknowledged without
processing, and the services ignore what no longer applies (an authorization for an order
that already moved on)."""

import logging

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cadcam.errors import ApplicationError
from payouts.models import StripeEvent

logger = logging.getLogger(__name__)


def _payment_authorized(intent) -> None:
    from orders.models import Order
    from orders.services import order_mark_authorized

    order = Order.objects.filter(payment_id=intent["id"]).first()
    if order is None:
        logger.warning("Stripe authorized %s, which no order knows", intent["id"])
        return
    try:
        order_mark_authorized(order=order)
    except ApplicationError as error:  # e.g. an event older than the PaymentIntent's state
        logger.warning("Authorization event for order %s not applied: %s", order.pk, error.message)


HANDLERS = {
    "payment_intent.amount_capturable_updated": _payment_authorized,
}


@csrf_exempt
@require_POST
def stripe_webhook(request):
    try:
        event = stripe.Webhook.construct_event(
            payload=request.body, sig_header=request.headers.get("Stripe-Signature", ""),
            secret=settings.STRIPE_WEBHOOK_SECRET,
        )
    except (ValueError, stripe.SignatureVerificationError):
        return HttpResponseBadRequest("Invalid payload or signature.")
    try:
        with transaction.atomic():
            StripeEvent.objects.create(event_id=event["id"], type=event["type"])
            handler = HANDLERS.get(event["type"])
            if handler:
                handler(event["data"]["object"])
    except IntegrityError:
        return HttpResponse("Already received.")
    return HttpResponse("OK")

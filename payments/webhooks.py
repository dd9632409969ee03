"""Stripe webhook events: the handler registry and the processing of stored events.

The endpoints (payments/views.py) verify each event's signature, store it once and queue
it; `stripe_event_process` then runs its handler in one transaction, under the event
row's lock. Handlers belong to the app that owns the event type: each registers with
`@webhook_handler(...)` in a `webhooks.py` module that its AppConfig.ready() imports, so
this app never imports the apps above it. Handlers fetch the object anew from the gateway
rather than trusting the payload, so repeated, late and out-of-order events all end in
the object's current state. A type nobody registered is stored and marked ignored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from payments.models import StripeEvent

PLATFORM, CONNECT = "platform", "connect"
ENDPOINTS = (PLATFORM, CONNECT)

Handler = Callable[[dict], str]

# endpoint -> event type -> handler(event payload) -> outcome in words (stored on the event).
HANDLERS: dict[str, dict[str, Handler]] = {endpoint: {} for endpoint in ENDPOINTS}


def webhook_handler(*event_types: str, endpoint: str = PLATFORM) -> Callable[[Handler], Handler]:
    """Register the decorated function for these event types on one endpoint. One owner per
    type: registering a different function for a type already taken is a start-up error."""
    if endpoint not in HANDLERS:
        raise ImproperlyConfigured(f"Unknown Stripe webhook endpoint {endpoint!r}")

    def register(handler: Handler) -> Handler:
        for event_type in event_types:
            current = HANDLERS[endpoint].get(event_type)
            if current is not None and current.__qualname__ != handler.__qualname__:
                raise ImproperlyConfigured(
                    f"{event_type} on the {endpoint} endpoint is already handled by "
                    f"{current.__module__}.{current.__qualname__}"
                )
            HANDLERS[endpoint][event_type] = handler
        return handler

    return register


def stripe_event_process(*, event_pk: int) -> str:
    """Process a stored event once. A failure rolls back and raises, so the task is retried;
    the event stays unprocessed until then (`stripe_event_failed` notes why, for staff)."""
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update().get(pk=event_pk)
        if event.processed_at:
            return event.outcome
        handler = HANDLERS.get(event.endpoint, {}).get(event.type)
        event.outcome = (handler(event.payload) if handler else "ignored: unknown type")[:200]
        event.processed_at = timezone.now()
        event.save(update_fields=["outcome", "processed_at"])
        return event.outcome


def stripe_event_failed(*, event_pk: int, error: str) -> None:
    StripeEvent.objects.filter(pk=event_pk, processed_at__isnull=True).update(outcome=f"failed: {error}"[:200])


def stripe_events_unprocessed(*, older_than: timedelta = timedelta(minutes=5), limit: int = 500) -> list[int]:
    """Events received a while ago and still not processed (the queue was down, or every
    retry failed): the requeue job sends them to the queue again."""
    stale = StripeEvent.objects.filter(processed_at__isnull=True, received_at__lte=timezone.now() - older_than)
    return list(stale.order_by("received_at").values_list("pk", flat=True)[:limit])

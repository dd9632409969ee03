"""Stripe webhooks: `/webhooks/stripe/` (the platform's own objects) and
`/webhooks/stripe/connect/` (events of connected accounts: account.updated, payout.*).

The view verifies the signature on the raw body with the SDK, stores the event once (its id
is unique) and answers at once; a Celery task then processes it in one transaction, under
the event row's lock, through the same services people and the scheduler use. Handlers
fetch the object anew from the gateway rather than trusting the payload, so repeated,
late and out-of-order events all end in the object's current state. Unknown types are
stored and marked ignored."""

import logging
from datetime import timedelta

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cadcam.errors import ApplicationError
from payouts.models import StripeEvent

logger = logging.getLogger(__name__)

PLATFORM, CONNECT = "platform", "connect"


def _payment_authorized(event: dict) -> str:
    from orders.models import Order
    from orders.services import order_mark_authorized

    intent_id = event["data"]["object"]["id"]
    order = Order.objects.filter(payment_id=intent_id).first()
    if order is None:
        return f"no order has {intent_id}"
    if order.status != Order.Status.PENDING_PAYMENT:
        return f"order #{order.pk} not changed: already {order.status}"
    try:
        order_mark_authorized(order=order)  # fetches the PaymentIntent anew
    except ApplicationError as error:  # e.g. an event older than the PaymentIntent's state
        return f"order #{order.pk} not changed: {error.message}"
    return f"order #{order.pk} authorized"


def _account_updated(event: dict) -> str:
    from payouts.services import payout_account_sync

    account_id = event["data"]["object"]["id"]
    row = payout_account_sync(account_id=account_id)
    return f"{account_id}: {row.get_state_display()}" if row else f"no user has {account_id}"


def _transfer_reversed(event: dict) -> str:
    from payouts.services import payout_reversal_record

    transfer_id = event["data"]["object"]["id"]
    payout = payout_reversal_record(transfer_id=transfer_id)
    return f"order #{payout.order_id}: {payout.reversed_cents} reversed" if payout else f"no payout has {transfer_id}"


def _bank_payout(event: dict) -> str:
    from payouts.services import payout_bank_update

    account_id = event.get("account") or ""
    changed = payout_bank_update(account_id=account_id, bank_payout_id=event["data"]["object"]["id"])
    return f"{len(changed)} payout(s) updated"


def _fetched_card_dispute(event: dict):
    from payouts.services import _gateway

    return _gateway(lambda gateway: gateway.retrieve_card_dispute(event["data"]["object"]["id"]))


def _chargeback(event: dict) -> str:
    from disputes.services import chargeback_record

    dispute = _fetched_card_dispute(event)
    chargeback = chargeback_record(dispute=dispute)
    if chargeback is None:
        return f"no order has charge {dispute.charge_id}"
    return f"order #{chargeback.order_id}: chargeback {chargeback.status}" + (
        ", payout held" if chargeback.payout_frozen else "")


def _chargeback_funds(event: dict) -> str:
    from disputes.services import chargeback_funds_moved

    withdrawn = event["type"] == "charge.dispute.funds_withdrawn"
    chargeback = chargeback_funds_moved(dispute=_fetched_card_dispute(event), withdrawn=withdrawn)
    if chargeback is None:
        return "no order has this charge"
    return f"order #{chargeback.order_id}: funds {'withdrawn' if withdrawn else 'reinstated'}"


# Which events each endpoint handles; any other type is stored and marked ignored.
HANDLERS = {
    PLATFORM: {
        "payment_intent.amount_capturable_updated": _payment_authorized,
        "transfer.reversed": _transfer_reversed,
        "charge.dispute.created": _chargeback,
        "charge.dispute.updated": _chargeback,
        "charge.dispute.closed": _chargeback,
        "charge.dispute.funds_withdrawn": _chargeback_funds,
        "charge.dispute.funds_reinstated": _chargeback_funds,
    },
    CONNECT: {
        "account.updated": _account_updated,
        "payout.paid": _bank_payout,
        "payout.failed": _bank_payout,
    },
}


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


def stripe_events_requeue(*, older_than=timedelta(minutes=5)) -> int:
    """Queue again the events not processed yet (the queue was down, or every retry failed)."""
    from payouts.tasks import process_stripe_event

    stale = StripeEvent.objects.filter(processed_at__isnull=True, received_at__lte=timezone.now() - older_than)
    ids = list(stale.values_list("pk", flat=True)[:500])
    for pk in ids:
        process_stripe_event.delay(pk)
    return len(ids)


def _queue(event_pk: int) -> None:
    from payouts.tasks import process_stripe_event

    # robust: a broker outage must not turn into an error answer; the requeue job picks it up.
    transaction.on_commit(lambda: process_stripe_event.delay(event_pk), robust=True)


def _receive(request, *, secret: str, endpoint: str):
    try:
        event = stripe.Webhook.construct_event(
            payload=request.body, sig_header=request.headers.get("Stripe-Signature", ""), secret=secret,
        )
    except (ValueError, stripe.SignatureVerificationError):
        return HttpResponseBadRequest("Invalid payload or signature.")
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

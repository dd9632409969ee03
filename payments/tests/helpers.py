"""Test helpers for the Stripe backend: what Stripe.js and Stripe's webhooks would do."""

import json
import time
from urllib.parse import parse_qs

import stripe
from django.test import TestCase
from django.urls import reverse


def customer_confirms(client, payment_id: str, card: str = "4242424242424242"):
    """What Stripe.js does in the browser: attach the card and confirm the PaymentIntent."""
    method = client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": card, "exp_month": 12, "exp_year": 2031, "cvc": "123"}}
    )
    client.v1.payment_intents.update(payment_id, params={"payment_method": method.id})
    return client.v1.payment_intents.confirm(payment_id)


def signed(payload: dict, secret: str, *, timestamp: int | None = None) -> tuple[str, str]:
    """A webhook body and its Stripe-Signature header, as Stripe signs them (now, unless told)."""
    body = json.dumps(payload)
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{body}", secret)
    return body, f"t={timestamp},v1={signature}"


# --- Stripe's HTTP API stubbed with `responses` (Connect, transfers, disputes: localstripe has none) ------

API = "https://api.stripe.com/v1"
CONNECT_SECRET = "whsec_connect_test"
PLATFORM_SECRET = "whsec_platform_test"


def stripe_list(url: str, data=()) -> dict:
    return {"object": "list", "url": url, "has_more": False, "data": list(data)}


def form(call) -> dict:
    """The form-encoded body the SDK sent, flattened: {"capabilities[transfers][requested]": "true", ...}."""
    return {key: values[0] for key, values in parse_qs(call.request.body).items()}


def stub_payment_intent(rsps, *, amount: int, intent_id: str = "pi_1", charge_id: str = "ch_1"):
    """The PaymentIntent calls an order makes: created, authorized, captured with its charge."""
    intent = {"id": intent_id, "object": "payment_intent", "amount": amount, "currency": "usd",
              "latest_charge": None}
    rsps.post(f"{API}/payment_intents", json={**intent, "status": "requires_payment_method"})
    rsps.get(f"{API}/payment_intents/{intent_id}", json={**intent, "status": "requires_capture"})
    rsps.post(f"{API}/payment_intents/{intent_id}/capture",
              json={**intent, "status": "succeeded", "latest_charge": charge_id})


def event(event_id: str, type_: str, obj: dict, account: str | None = None) -> dict:
    return {"id": event_id, "object": "event", "type": type_, "account": account, "data": {"object": obj}}


def deliver(client, payload: dict, *, connect: bool = True, secret: str | None = None):
    """POST a signed event to our endpoint and run the processing task it queues on commit."""
    body, header = signed(payload, secret or (CONNECT_SECRET if connect else PLATFORM_SECRET))
    url = reverse("stripe_connect_webhook" if connect else "stripe_webhook")
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(url, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)

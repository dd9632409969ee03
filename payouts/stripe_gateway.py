"""The Stripe backend of the payment gateway (see payouts/gateway.py), through StripeClient.

Separate charges and transfers: a PaymentIntent with manual capture is created when the
client reaches the payment step; the card is confirmed in the browser by Stripe's Payment
Element (card numbers never reach us); we capture on acceptance and cancel on decline,
expiry or withdrawal. Every call carries the order's idempotency key. Stripe replays a
repeated key; where it cannot (or a test double does not), a capture or cancel that finds
the PaymentIntent already in the target state counts as done."""

from __future__ import annotations

import stripe
from django.conf import settings

from payouts.gateway import GatewayError, Payment, PaymentStatus

UNAVAILABLE = "The payment service is not available right now."


def _payment(intent) -> Payment:
    return Payment(id=intent.id, status=intent.status, amount_cents=intent.amount, currency=intent.currency.upper())


class StripeGateway:
    name = "stripe"

    def __init__(self, client: stripe.StripeClient | None = None):
        base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else {}
        self.client = client or stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses=base)

    def _call(self, call):
        try:
            return call()
        except stripe.CardError as error:
            raise GatewayError(error.user_message or "The card was declined.", detail=str(error)) from error
        except stripe.StripeError as error:
            raise GatewayError(UNAVAILABLE, detail=f"{type(error).__name__}: {error}") from error

    def create_payment(self, *, amount_cents: int, currency: str, reference: str, idempotency_key: str) -> Payment:
        params = {
            "amount": amount_cents,
            "currency": currency.lower(),
            "capture_method": "manual",
            "payment_method_types": ["card"],
            "metadata": {"reference": reference},
        }
        intent = self._call(
            lambda: self.client.v1.payment_intents.create(params=params, options={"idempotency_key": idempotency_key})
        )
        return _payment(intent)

    def retrieve(self, payment_id: str) -> Payment:
        return _payment(self._call(lambda: self.client.v1.payment_intents.retrieve(payment_id)))

    def client_secret(self, payment_id: str) -> str:
        """For the Payment Element in the client's browser."""
        return self._call(lambda: self.client.v1.payment_intents.retrieve(payment_id)).client_secret

    def _finish(self, call, *, payment_id: str, done: str) -> Payment:
        try:
            return _payment(self._call(call))
        except GatewayError:
            current = self.retrieve(payment_id)
            if current.status == done:  # an earlier attempt went through
                return current
            raise

    def capture(self, *, payment_id: str, idempotency_key: str) -> Payment:
        options = {"idempotency_key": idempotency_key}
        return self._finish(
            lambda: self.client.v1.payment_intents.capture(payment_id, options=options),
            payment_id=payment_id, done=PaymentStatus.SUCCEEDED,
        )

    def cancel(self, *, payment_id: str, idempotency_key: str) -> Payment:
        options = {"idempotency_key": idempotency_key}
        return self._finish(
            lambda: self.client.v1.payment_intents.cancel(payment_id, options=options),
            payment_id=payment_id, done=PaymentStatus.CANCELED,
        )

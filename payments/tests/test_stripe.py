"""The stripe backend through the real SDK, against localstripe."""

import pytest

from payments.backends import get_gateway
from payments.gateway import GatewayError, PaymentStatus
from payments.stripe_gateway import StripeGateway
from payments.tests.helpers import customer_confirms

pytestmark = pytest.mark.django_db


def test_authorize_capture_and_cancel(stripe_client):
    gateway = get_gateway()
    assert isinstance(gateway, StripeGateway)

    payment = gateway.create_payment(amount_cents=1800, currency="USD", reference="order-1", idempotency_key="k1")
    assert (payment.status, payment.amount_cents, payment.currency) == (PaymentStatus.REQUIRES_PAYMENT, 1800, "USD")
    customer_confirms(stripe_client, payment.id)
    assert gateway.retrieve(payment.id).status == PaymentStatus.REQUIRES_CAPTURE

    captured = gateway.capture(payment_id=payment.id, idempotency_key="capture:k1")
    assert (captured.status, captured.amount_received_cents) == (PaymentStatus.SUCCEEDED, 1800)
    assert captured.charge_id.startswith("ch_")

    other = gateway.create_payment(amount_cents=900, currency="USD", reference="order-2", idempotency_key="k2")
    customer_confirms(stripe_client, other.id)
    assert gateway.cancel(payment_id=other.id, idempotency_key="cancel:k2").status == PaymentStatus.CANCELED
    # Cancelling again is refused, and the refusal is definite (Stripe answered: nothing was done).
    with pytest.raises(GatewayError) as refused:
        gateway.cancel(payment_id=other.id, idempotency_key="cancel:k3")
    assert refused.value.definite

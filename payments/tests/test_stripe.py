"""The stripe backend through the real SDK, against localstripe."""

import pytest

from payments.backends import get_gateway
from payments.gateway import PaymentStatus
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

    assert gateway.capture(payment_id=payment.id, idempotency_key="capture:k1").status == PaymentStatus.SUCCEEDED
    # A retry after a lost answer: already captured, nothing is captured twice.
    assert gateway.capture(payment_id=payment.id, idempotency_key="capture:k1").status == PaymentStatus.SUCCEEDED

    other = gateway.create_payment(amount_cents=900, currency="USD", reference="order-2", idempotency_key="k2")
    customer_confirms(stripe_client, other.id)
    assert gateway.cancel(payment_id=other.id, idempotency_key="cancel:k2").status == PaymentStatus.CANCELED
    assert gateway.cancel(payment_id=other.id, idempotency_key="cancel:k2").status == PaymentStatus.CANCELED

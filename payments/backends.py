"""Which gateway backend serves this process: Stripe when STRIPE_SECRET_KEY is set, the
simulated gateway otherwise (development, the demo and most tests)."""

from django.conf import settings

from payments.gateway import PaymentGateway
from payments.simulated import SimulatedGateway
from payments.stripe_gateway import StripeGateway


def get_gateway() -> PaymentGateway:
    if settings.STRIPE_SECRET_KEY:
        return StripeGateway()
    return SimulatedGateway()

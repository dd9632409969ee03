"""Chargeback events through the stripe backend (Stripe's API stubbed with `responses`)."""

import pytest

from accounts.tests.helpers import make_user
from disputes.models import Chargeback
from listings.tests.helpers import make_published
from orders.services import order_accept, order_create, order_mark_authorized
from payments.tests.helpers import API, deliver, event, stub_payment_intent

pytestmark = pytest.mark.django_db


@pytest.fixture
def accepted(stripe_api):
    listing = make_published()
    stub_payment_intent(stripe_api, amount=listing.price_cents)
    order = order_mark_authorized(order=order_create(listing=listing, employer=make_user()))
    return order_accept(order=order, by=order.freelancer)


def test_chargeback_events_are_fetched_anew(stripe_api, client, accepted):
    dispute = {"id": "dp_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_1", "amount": 1000,
               "reason": "fraudulent", "status": "won"}
    stripe_api.get(f"{API}/disputes/dp_1", json=dispute)
    # A late "created" event says needs_response; the dispute fetched says won.
    deliver(client, event("evt_cb", "charge.dispute.created", {**dispute, "status": "needs_response"}),
            connect=False)

    assert Chargeback.objects.get().status == "won"

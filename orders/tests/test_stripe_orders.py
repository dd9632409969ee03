"""Orders paid by card through the stripe backend (the real SDK against localstripe): the
payment page, the return from Stripe and the authorization webhook."""

import pytest
import stripe
from django.urls import reverse

from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError
from listings.tests.helpers import make_published
from orders.models import Order, OrderEvent
from orders.services import order_accept, order_create, order_decline
from payments.models import StripeEvent
from payments.tests.helpers import customer_confirms, signed

pytestmark = pytest.mark.django_db
S = Order.Status


def _event(event_id: str, event_type: str, intent_id: str) -> dict:
    return {"id": event_id, "object": "event", "type": event_type, "data": {"object": {"id": intent_id}}}


def test_the_order_flow_on_stripe(client, stripe_client):
    listing = make_published(price_cents=1800)
    employer = make_user()
    order = order_create(listing=listing, employer=employer)
    client.force_login(employer)

    page = client.get(reverse("orders:pay", args=[order.pk])).content.decode()
    assert "payment-element" in page
    assert "data-client-secret=" in page
    customer_confirms(stripe_client, order.payment_id)
    client.get(reverse("orders:pay_return", args=[order.pk]))
    order.refresh_from_db()
    assert order.status == S.REQUESTED

    order_accept(order=order, by=order.freelancer)
    assert stripe_client.v1.payment_intents.retrieve(order.payment_id).status == "succeeded"

    declined = order_create(listing=listing, employer=employer)
    customer_confirms(stripe_client, declined.payment_id)
    client.get(reverse("orders:pay_return", args=[declined.pk]))
    order_decline(order=Order.objects.get(pk=declined.pk), by=declined.freelancer)
    assert stripe_client.v1.payment_intents.retrieve(declined.payment_id).status == "canceled"


def test_a_declined_card_leaves_the_order_waiting_for_payment(client, stripe_client):
    order = order_create(listing=make_published(), employer=make_user())

    with pytest.raises(stripe.CardError):
        customer_confirms(stripe_client, order.payment_id, card="4000000000000341")

    client.force_login(order.employer)
    response = client.get(reverse("orders:pay_return", args=[order.pk]), follow=True)
    assert "The payment was not completed. Please try again." in response.content.decode()
    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT
    with pytest.raises(ApplicationError):
        order_accept(order=order, by=order.freelancer)


def test_the_same_webhook_five_times_moves_the_order_once(client, stripe_settings, stripe_client,
                                                          django_capture_on_commit_callbacks):
    order = order_create(listing=make_published(), employer=make_user())
    customer_confirms(stripe_client, order.payment_id)
    body, signature = signed(
        _event("evt_1", "payment_intent.amount_capturable_updated", order.payment_id),
        stripe_settings.STRIPE_WEBHOOK_SECRET,
    )

    with django_capture_on_commit_callbacks(execute=True):  # processing is queued after the answer
        answers = [
            client.post("/webhooks/stripe/", body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
            for _ in range(5)
        ]

    assert [answer.status_code for answer in answers] == [200] * 5
    order.refresh_from_db()
    assert order.status == S.REQUESTED
    assert OrderEvent.objects.filter(order=order, to_status=S.REQUESTED).count() == 1
    assert StripeEvent.objects.count() == 1


def test_a_late_authorization_event_changes_nothing(client, stripe_settings, stripe_client,
                                                    django_capture_on_commit_callbacks):
    order = order_create(listing=make_published(), employer=make_user())
    customer_confirms(stripe_client, order.payment_id)
    client.force_login(order.employer)
    client.get(reverse("orders:pay_return", args=[order.pk]))  # the return page came first
    order_accept(order=Order.objects.get(pk=order.pk), by=order.freelancer)
    body, signature = signed(
        _event("evt_late", "payment_intent.amount_capturable_updated", order.payment_id),
        stripe_settings.STRIPE_WEBHOOK_SECRET,
    )

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/webhooks/stripe/", body, content_type="application/json",
                             HTTP_STRIPE_SIGNATURE=signature)

    assert answer.status_code == 200
    order.refresh_from_db()
    assert order.status == S.ACCEPTED
    assert "not changed" in StripeEvent.objects.get(event_id="evt_late").outcome


def test_a_webhook_with_a_bad_signature_is_refused(client, stripe_settings):
    body, _ = signed(_event("evt_2", "payment_intent.amount_capturable_updated", "pi_x"), "whsec_wrong")

    answer = client.post("/webhooks/stripe/", body, content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=00")

    assert answer.status_code == 400
    assert not StripeEvent.objects.exists()

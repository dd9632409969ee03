"""The card payment page in Stripe mode: its Content-Security-Policy is built from the
configured Stripe addresses, it asks the gateway before offering the card form, and it
tells a second tab that the case is paid."""

import pytest
import responses
from django.urls import reverse

from accounts.tests.helpers import make_user
from listings.tests.helpers import make_published
from orders.models import Order
from orders.services import order_create
from payments.models import MoneyOperation
from payments.stripe_gateway import browser_csp_sources
from payments.tests.helpers import API, customer_confirms

pytestmark = pytest.mark.django_db
S = Order.Status


def csp(response) -> dict[str, list[str]]:
    return {name: values.split() for name, _, values in
            (part.strip().partition(" ") for part in response["Content-Security-Policy"].split(";"))}


def pending_order(**kwargs) -> Order:
    return order_create(listing=make_published(price_cents=1800), employer=make_user(), **kwargs)


def stub_intent(stripe_api, status: str = "requires_payment_method", *, answer: dict | None = None) -> None:
    """Stripe's API, stubbed: the order's PaymentIntent is created, then found in `status`
    (or its retrieval answers `answer`, e.g. a server error)."""
    intent = {"id": "pi_1", "object": "payment_intent", "amount": 1800, "currency": "usd", "latest_charge": "ch_1",
              "client_secret": "pi_1_secret_x"}
    stripe_api.post(f"{API}/payment_intents", json={**intent, "status": "requires_payment_method"})
    retrieved = answer or {"json": {**intent, "status": status}}
    stripe_api.upsert(responses.GET, f"{API}/payment_intents/pi_1", **retrieved)


def test_the_sources_are_stripes_own_hosts_by_default(settings):
    settings.STRIPE_JS_URL, settings.STRIPE_API_BASE = "https://js.stripe.com/v3/", ""
    assert browser_csp_sources() == {
        "script-src": ["https://js.stripe.com", "https://*.js.stripe.com"],
        "connect-src": ["https://api.stripe.com"],
        "frame-src": ["https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"],
    }


def test_the_sources_follow_stripe_addresses_configured_elsewhere(settings):
    settings.STRIPE_JS_URL, settings.STRIPE_API_BASE = "http://127.0.0.1:8420/js.stripe.com/v3/", "http://127.0.0.1:8420"
    assert browser_csp_sources() == {"script-src": ["http://127.0.0.1:8420"], "connect-src": ["http://127.0.0.1:8420"],
                                     "frame-src": ["http://127.0.0.1:8420"]}


def test_real_stripe_js_talks_to_stripes_api_whatever_the_server_uses(settings):
    settings.STRIPE_JS_URL, settings.STRIPE_API_BASE = "https://js.stripe.com/v3/", "http://stripe-proxy.internal:8080"
    assert browser_csp_sources()["connect-src"] == ["https://api.stripe.com"]


def test_the_pay_page_allows_stripe_js_from_where_it_is_configured(client, stripe_settings):
    stripe_settings.STRIPE_JS_URL = f"{stripe_settings.STRIPE_API_BASE}/js.stripe.com/v3/"
    order = pending_order()
    client.force_login(order.employer)

    page = client.get(reverse("orders:pay", args=[order.pk]))

    assert page.status_code == 200 and 'id="payment-form"' in page.text
    policy = csp(page)
    for directive in ("script-src", "connect-src", "frame-src"):
        assert stripe_settings.STRIPE_API_BASE in policy[directive], directive
    assert "'self'" in policy["script-src"] and "'unsafe-inline'" not in policy["script-src"]
    assert f'<script src="{stripe_settings.STRIPE_JS_URL}">' in page.text
    # Other pages do not allow Stripe at all.
    assert stripe_settings.STRIPE_API_BASE not in client.get(reverse("orders:detail", args=[order.pk]))[
        "Content-Security-Policy"]


def test_the_pay_page_allows_stripes_own_hosts_with_real_stripe(client, stripe_api):
    stub_intent(stripe_api, "requires_payment_method")
    order = pending_order()
    client.force_login(order.employer)

    policy = csp(client.get(reverse("orders:pay", args=[order.pk])))

    assert "https://js.stripe.com" in policy["script-src"] and "https://*.js.stripe.com" in policy["script-src"]
    assert "https://api.stripe.com" in policy["connect-src"]
    assert "https://hooks.stripe.com" in policy["frame-src"]


def test_a_card_confirmed_elsewhere_moves_the_order_on_instead_of_showing_the_form(client, stripe_settings,
                                                                                   stripe_client):
    order = pending_order()
    customer_confirms(stripe_client, order.payment_id)  # the return from Stripe never reached us
    client.force_login(order.employer)

    page = client.get(reverse("orders:pay", args=[order.pk]), follow=True)

    assert page.redirect_chain[-1][0] == reverse("orders:detail", args=[order.pk])
    assert "Your card is already authorized for this case" in page.text
    assert 'id="payment-form"' not in page.text
    order.refresh_from_db()
    assert order.status == S.REQUESTED


def test_the_card_form_asks_whether_another_tab_paid(client, stripe_settings, stripe_client):
    order = pending_order()
    client.force_login(order.employer)
    url = reverse("orders:pay_check", args=[order.pk])
    assert client.get(url).json() == {"paid": False, "closed": False, "message": "",
                                      "url": reverse("orders:detail", args=[order.pk])}

    customer_confirms(stripe_client, order.payment_id)

    assert client.get(url).json()["paid"] is True
    order.refresh_from_db()
    assert order.status == S.REQUESTED


def test_only_the_client_may_ask(client, stripe_settings):
    order = pending_order()
    client.force_login(order.freelancer)
    assert client.get(reverse("orders:pay_check", args=[order.pk])).status_code == 404
    client.force_login(make_user())
    assert client.get(reverse("orders:pay_check", args=[order.pk])).status_code == 404


def test_returning_from_stripe_to_a_paid_order_says_so(client, stripe_settings, stripe_client):
    order = pending_order()
    customer_confirms(stripe_client, order.payment_id)
    client.force_login(order.employer)
    client.get(reverse("orders:pay_return", args=[order.pk]))

    again = client.get(reverse("orders:pay_return", args=[order.pk]), follow=True)

    assert "Your card is already authorized for this case" in again.text


def test_a_payment_intent_cancelled_at_stripe_is_said_not_offered(client, stripe_api):
    stub_intent(stripe_api, "canceled")
    order = pending_order()
    client.force_login(order.employer)

    page = client.get(reverse("orders:pay", args=[order.pk]))

    assert "This payment was cancelled at the payment service" in page.text
    assert 'id="payment-form"' not in page.text


def test_the_payment_pages_are_never_cached(client, stripe_settings):
    order = pending_order()
    client.force_login(order.employer)
    for name in ("orders:pay", "orders:pay_check", "orders:pay_return"):
        response = client.get(reverse(name, args=[order.pk]))
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], name


def test_a_closed_case_is_not_called_paid(client, stripe_settings):
    order = pending_order()
    client.force_login(order.employer)
    client.post(reverse("orders:act", args=[order.pk, "withdraw"]))
    order.refresh_from_db()
    assert order.status == S.WITHDRAWN

    answer = client.get(reverse("orders:pay_check", args=[order.pk])).json()

    assert (answer["paid"], answer["closed"]) == (False, True)
    assert answer["message"] == "This case is withdrawn: nothing was charged."


def test_no_card_form_while_a_payment_step_is_being_confirmed(client):
    order = pending_order()
    MoneyOperation.objects.create(order=order, kind="cancel", purpose="order.release", attempt=1,
                                  idempotency_key=f"cancel:order-{order.pk}:1", amount_cents=order.total_cents,
                                  currency="USD", params={"payment_id": order.payment_id},
                                  context={"action": "withdraw", "by": order.employer_id})
    client.force_login(order.employer)

    page = client.get(reverse("orders:pay", args=[order.pk]))

    assert "A payment step for this order is being confirmed" in page.text
    assert "Approve payment" not in page.text and 'id="payment-form"' not in page.text


def test_a_payment_already_taken_at_stripe_is_not_offered_again(client, stripe_api, mailoutbox,
                                                               django_capture_on_commit_callbacks):
    stub_intent(stripe_api, "succeeded")
    staff = make_user(is_staff=True)
    order = pending_order()
    client.force_login(order.employer)

    with django_capture_on_commit_callbacks(execute=True):
        page = client.get(reverse("orders:pay", args=[order.pk]))

    assert "This payment was already taken at the payment service" in page.text
    assert 'id="payment-form"' not in page.text
    assert any(staff.email in message.to for message in mailoutbox)


def test_returning_while_the_bank_processes_says_only_that(client, stripe_api):
    stub_intent(stripe_api, "processing")
    order = pending_order()
    client.force_login(order.employer)

    page = client.get(reverse("orders:pay_return", args=[order.pk]), follow=True)

    assert "Your bank is still processing the card payment" in page.text
    assert "not completed" not in page.text


def test_returning_when_stripe_does_not_answer_says_it_is_being_checked(client, stripe_api):
    stub_intent(stripe_api, answer={"status": 500, "json": {"error": {"type": "api_error", "message": "down"}}})
    order = pending_order()
    client.force_login(order.employer)

    page = client.get(reverse("orders:pay_return", args=[order.pk]), follow=True)

    assert "Your payment is being checked with the payment service" in page.text
    assert "not completed" not in page.text

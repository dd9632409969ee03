"""CSRF: every URL of the inventory refuses a POST without a token (403) and nothing changes,
made by the person who could otherwise do it (the owner, the party, staff with the second
factor). The only exempt views are the Stripe webhooks, which check Stripe's signature and
refuse an unsigned body with 400."""

import pytest
from django.test import Client
from django.urls import reverse

from marketplace.tests.security.inventory import WEBHOOK, all_routes
from marketplace.tests.security.report import record
from marketplace.tests.security.samples import samples
from marketplace.tests.security.world import EMPLOYER, DbWatcher
from messaging.models import MessagingPreference
from payments.models import StripeEvent

pytestmark = pytest.mark.django_db

WEBHOOKS = {"stripe_webhook", "stripe_connect_webhook"}


def test_only_the_stripe_webhooks_are_csrf_exempt():
    exempt = {route.key for route in all_routes() if getattr(route.callback, "csrf_exempt", False)}
    webhooks = {route.key for route in all_routes() if route.kind == WEBHOOK}

    assert exempt == WEBHOOKS == webhooks


def test_every_post_without_a_csrf_token_is_refused_and_changes_nothing(world, staff_need_mfa):
    requests = [sample for sample in samples(world) if sample.route.kind != WEBHOOK]
    clients: dict[str, Client] = {}
    watcher = DbWatcher()
    problems = []
    for sample in requests:
        if sample.actor not in clients:
            clients[sample.actor] = world.client(sample.actor, enforce_csrf_checks=True)
        client = clients[sample.actor]
        watcher.sync()
        response = client.post(sample.path, sample.data())
        changed = watcher.changed()
        if response.status_code != 403:
            problems.append(f"{sample.route.key} POST {sample.path} as {sample.actor}: {response.status_code}")
        if changed:
            problems.append(f"{sample.route.key} POST {sample.path} as {sample.actor}: changed {changed}")
    record("CSRF endpoints (POST without a token)", len(requests))

    assert not problems, "\n".join(problems)


def test_the_same_post_with_the_token_goes_through(world):
    """The refusal above is the CSRF check's, not something else's."""
    client = world.client(EMPLOYER, enforce_csrf_checks=True)
    client.get(reverse("messaging:inbox"))  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value

    response = client.post(reverse("messaging:preferences"), {"email_unread": "on", "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert MessagingPreference.objects.filter(user=world.employer, email_unread=True).exists()


@pytest.mark.parametrize("name", sorted(WEBHOOKS))
@pytest.mark.parametrize("signature", [None, "t=1,v1=0123456789abcdef"], ids=["unsigned", "wrongly signed"])
def test_the_webhooks_refuse_a_body_without_stripes_signature(settings, name, signature):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_platform_for_tests"
    settings.STRIPE_CONNECT_WEBHOOK_SECRET = "whsec_connect_for_tests"
    body = '{"id": "evt_forged", "object": "event", "type": "payment_intent.amount_capturable_updated", ' \
           '"data": {"object": {"id": "pi_1", "object": "payment_intent"}}}'
    headers = {"HTTP_STRIPE_SIGNATURE": signature} if signature else {}

    response = Client(enforce_csrf_checks=True).post(reverse(name), body, content_type="application/json",
                                                     **headers)
    record("CSRF endpoints (webhook signature)", 1)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()

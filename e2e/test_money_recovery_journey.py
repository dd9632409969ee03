"""A designer accepts a case while the payment service times out: the capture goes through
at the gateway, but the answer is lost. The designer is told the step is being confirmed,
the order page says so and nobody can act on the order; the client cannot withdraw. The
recovery job then finds the capture, the order is accepted, and the money reconciles with
the gateway."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from e2e.helpers import new_page, sign_in
from orders.tests.helpers import make_order
from payments.operations import RECOVER_AFTER, money_recover
from payments.reconcile import reconcile, reconcile_gateway
from payments.simulated import SimulatedGateway
from payments.tests.faults import FaultyGateway, use_gateway

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PENDING = "A payment step for this order is being confirmed with the payment service"


def test_an_acceptance_whose_answer_was_lost_is_confirmed_by_the_recovery_job(page, live_server, monkeypatch):
    order = make_order()
    gateway = FaultyGateway(SimulatedGateway(), {"capture": "timeout"})
    use_gateway(monkeypatch, gateway)

    sign_in(page, order.freelancer.email)
    page.goto(f"/orders/{order.pk}/")
    page.get_by_role("button", name="Accept the case").click()
    expect(page.get_by_role("alert").filter(has_text=PENDING)).to_be_visible()
    expect(page.get_by_test_id("payment-step-pending")).to_be_visible()
    expect(page.get_by_test_id("order-status")).to_have_text("Waiting for the designer")

    client = new_page(page.context.browser, live_server.url)
    try:
        sign_in(client, order.employer.email)
        client.goto(f"/orders/{order.pk}/")
        expect(client.get_by_test_id("payment-step-pending")).to_be_visible()
        client.get_by_role("button", name="Withdraw the case").click()
        expect(client.get_by_role("alert").filter(has_text=PENDING)).to_be_visible()
    finally:
        client.context.close()

    # Ten minutes later the recovery job asks the gateway, which did capture.
    assert money_recover(now=timezone.now() + RECOVER_AFTER + timedelta(minutes=1))["succeeded"] == 1

    page.reload()
    expect(page.get_by_test_id("order-status")).to_have_text("In progress")
    expect(page.get_by_test_id("payment-step-pending")).to_have_count(0)
    assert reconcile().ok
    assert reconcile_gateway(order_ids=[order.pk], gateway=SimulatedGateway()).ok

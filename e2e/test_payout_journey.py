"""A designer connects payouts on the test-mode onboarding, an order of theirs completes,
time moves past the 7-day clearing period, the scheduled payout run sends the money, and
the earnings page shows the transfer."""

from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from cadcam.money import format_cents
from e2e.helpers import new_page, sign_in
from listings.tests.helpers import make_published, make_verified_seller
from payouts.services import payouts_run
from payouts.tests.helpers import make_completed_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_designer_connects_payouts_and_sees_the_transfer_after_clearing(browser, live_server):
    designer = make_verified_seller()
    page = new_page(browser, live_server.url)
    sign_in(page, designer.email)

    # The designer sets up payouts: bank country, then the (test-mode) onboarding.
    page.goto("/payouts/")
    preferences = page.get_by_test_id("payout-preferences")
    expect(preferences.get_by_test_id("payout-state")).to_have_text("Not started")
    preferences.get_by_label("Your bank's country").select_option(label="Germany")
    preferences.get_by_role("button", name="Set up payouts").click()
    expect(page.get_by_test_id("test-mode")).to_contain_text("TEST MODE")
    page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
    page.get_by_role("button", name="Save and enable payouts").click()
    expect(page.get_by_text("Payouts are enabled")).to_be_visible()
    expect(preferences.get_by_test_id("payout-state")).to_have_text("Payouts enabled")

    # A client's order completes: the designer's net clears for 7 days.
    order = make_completed_order(listing=make_published(owner=designer, title="Night guard design, hard-soft"))
    page.reload()
    row = page.get_by_test_id(f"earnings-order-{order.pk}")
    expect(row).to_contain_text("Clearing")

    # Time passes the clearing period and the scheduled run transfers the net amount.
    with time_machine.travel(order.payout_due_at + timedelta(minutes=5), tick=True):
        assert payouts_run()["transferred"] == 1
        page.reload()
        expect(row).to_contain_text("Transferred")
        expect(row).to_contain_text(format_cents(order.net_cents))

"""Someone who has only bought finds one way in to selling, and the seller's tools appear with
their first listing (issue 18)."""

import pytest
from playwright.sync_api import expect

from accounts.tests.helpers import make_complete_profile
from e2e.helpers import sign_in
from listings.tests.helpers import make_draft
from orders.tests.helpers import make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_buyer_starts_selling_and_the_seller_tools_appear(page, live_server):
    buyer = make_order().employer
    make_complete_profile(buyer)
    sign_in(page, buyer.email)

    page.goto("/dashboard/")
    expect(page.get_by_role("link", name="New listing")).to_have_count(0)
    expect(page.get_by_test_id("dashboard-earnings")).to_have_count(0)
    expect(page.get_by_test_id("orders-received")).to_have_count(0)
    page.get_by_test_id("user-menu").click()
    menu = page.locator(".dropdown-menu")
    expect(menu.get_by_role("link", name="Earnings & payouts")).to_have_count(0)
    expect(menu.get_by_role("link").first).to_have_text("Edit profile")
    page.keyboard.press("Escape")

    page.get_by_test_id("dashboard-start-selling").click()
    steps = page.get_by_test_id("selling-step")
    expect(steps).to_have_count(4)
    expect(steps.nth(0)).to_contain_text("Done")
    expect(steps.nth(1).get_by_role("link", name="Verify your identity")).to_be_visible()

    make_draft(buyer, title="My first crown design")  # as the listing form would
    page.goto("/dashboard/")
    expect(page.get_by_role("link", name="New listing")).to_be_visible()
    expect(page.get_by_test_id("dashboard-earnings")).to_be_visible()
    expect(page.get_by_test_id("my-listings")).to_contain_text("My first crown design")

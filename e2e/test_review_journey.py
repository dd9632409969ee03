"""Both parties of a completed order review each other on the order page: the first sees that
the review waits for the other side; after the second, both see both reviews; the client's
rating then shows on the listing page."""

import pytest
from playwright.sync_api import expect

from e2e.helpers import new_page, sign_in, write_review
from reviews.tests.helpers import completed_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BY_CLIENT = "Margins were spot on and the crown seated without adjustment."
BY_DESIGNER = "Clean scans and a clear prescription, quick answers too."


def test_both_parties_review_and_the_rating_shows_on_the_listing(page, live_server):
    order = completed_order()
    order_url = f"/orders/{order.pk}/"

    sign_in(page, order.employer.email)
    page.goto(order_url)
    write_review(page, 4, BY_CLIENT)
    block = page.get_by_test_id("order-reviews")
    expect(block.get_by_test_id("review-waiting")).to_contain_text("Waiting for the other side")
    expect(block).to_contain_text(BY_CLIENT)

    designer = new_page(page.context.browser, live_server.url)
    try:
        sign_in(designer, order.freelancer.email)
        designer.goto(order_url)
        theirs = designer.get_by_test_id("order-reviews")
        expect(theirs).to_contain_text("has already reviewed you")
        expect(theirs).not_to_contain_text(BY_CLIENT)
        write_review(designer, 5, BY_DESIGNER)
        expect(theirs).to_contain_text("Both reviews are now visible.")
        expect(theirs).to_contain_text(BY_CLIENT)
        expect(theirs).to_contain_text(BY_DESIGNER)
        theirs.get_by_label("Your public reply").fill("Thank you, glad it fitted!")
        theirs.get_by_role("button", name="Publish reply").click()
        expect(theirs.get_by_test_id("review-reply")).to_contain_text("Thank you, glad it fitted!")
    finally:
        designer.context.close()

    page.reload()
    block = page.get_by_test_id("order-reviews")
    expect(block).to_contain_text(BY_DESIGNER)
    expect(block).not_to_contain_text("Waiting for the other side")

    page.goto(order.listing.get_absolute_url())
    expect(page.get_by_test_id("listing-rating")).to_contain_text("4.0")
    expect(page.get_by_test_id("listing-rating")).to_contain_text("(1 review)")
    expect(page.get_by_test_id("listing-reviews")).to_contain_text(BY_CLIENT)

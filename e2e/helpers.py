"""Steps the browser journeys share."""

from playwright.sync_api import Browser, Page, expect

from accounts.tests.helpers import PASSWORD


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_test_id("user-menu")).to_be_visible()


def new_page(browser: Browser, base_url: str) -> Page:
    """A page in a browser context of its own: another person at another computer."""
    page = browser.new_context(base_url=base_url).new_page()
    page.set_default_timeout(15_000)
    return page


def write_review(page: Page, stars: int, text: str) -> None:
    """On the order page: pick the stars, write the review, publish it."""
    block = page.get_by_test_id("order-reviews")
    block.locator(f'label[title^="{stars} star"]').click()
    expect(block.get_by_role("radio", name=f"{stars} star")).to_be_checked()
    block.get_by_label("Your review").fill(text)
    block.get_by_role("button", name="Publish review").click()

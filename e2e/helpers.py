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

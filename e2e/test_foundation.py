import re

import pytest
from playwright.sync_api import expect

from accounts.demo import DEMO_PASSWORD, seed_users

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_page_renders_categories(page):
    page.goto("/")

    expect(page).to_have_title(re.compile("Dental CAD design services"))
    expect(page.get_by_role("heading", name="Design services by category")).to_be_visible()
    expect(page.get_by_text("All-on-X / Hybrid Bars")).to_be_visible()


def test_demo_user_signs_in_and_sees_their_name(page):
    seed_users()

    page.goto("/")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill("freelancer@cadcam.test")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    expect(page.get_by_test_id("user-menu")).to_have_text("Elena Marsh")
    expect(page.get_by_role("link", name="Sign in")).to_have_count(0)


def test_phone_width_menu_collapses_and_opens(page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")

    sign_in = page.get_by_role("link", name="Sign in")
    expect(sign_in).to_be_hidden()
    page.get_by_role("button", name="Toggle navigation").click()
    expect(sign_in).to_be_visible()

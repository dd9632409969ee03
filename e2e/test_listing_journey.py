"""A verified freelancer lists a design service, staff approve it in the admin, and an
employer finds it from the home page search and opens it."""

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from accounts.tests.helpers import make_user
from e2e.helpers import new_page, sign_in
from listings.tests.helpers import make_verified_seller

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Quartzline zirconia crown design"
SEARCH_PREFIX = "quartzl"
DESCRIPTION = (
    "Full-contour zirconia crowns designed by a master dental technician: anatomic morphology, checked "
    "contacts and occlusion, and minimum thickness respected for your material. Send an intraoral scan "
    "or a model scan with the shade and the antagonist."
)
ADD_ON = "Express 24 h"


def write_images(tmp_path: Path) -> list[Path]:
    paths = []
    for number, colour in enumerate([(230, 226, 214), (11, 110, 138)], start=1):
        path = tmp_path / f"crown-{number}.png"
        Image.new("RGB", (1000, 750), colour).save(path, format="PNG")
        paths.append(path)
    return paths


def create_listing(page: Page, tmp_path: Path) -> None:
    page.goto("/listings/new/")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Category").select_option(label="Crowns & Bridges")
    page.get_by_label("Description").fill(DESCRIPTION)
    page.get_by_label("exocad DentalCAD").check()
    page.get_by_label("Revisions included").fill("2")
    page.get_by_label("Unit price (USD)").fill("25.00")
    page.get_by_label("Priced per unit").check()
    page.get_by_label("Unit name").fill("tooth")
    page.get_by_label("Turnaround (days)").fill("2")
    page.get_by_label("Add images").set_input_files(write_images(tmp_path))
    page.get_by_label("Add-on 1", exact=True).fill(ADD_ON)
    page.get_by_label("Add-on 1 price (USD)").fill("15")
    page.get_by_role("button", name="Save and submit for review").click()

    expect(page.get_by_text("Submitted for review")).to_be_visible()
    expect(page.get_by_test_id("listing-state")).to_contain_text("In review")


def approve_in_admin(page: Page) -> None:
    page.goto("/admin/listings/listing/")
    page.get_by_role("link", name=TITLE).click()
    page.get_by_role("button", name="Approve", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text(f"Approved: “{TITLE}”")


def find_and_open(page: Page) -> None:
    page.goto("/")
    search = page.get_by_label("Search design services")
    search.fill(SEARCH_PREFIX)
    search.press("Enter")

    expect(page).to_have_url(re.compile(rf"/listings/\?q={SEARCH_PREFIX}$"))
    expect(page.get_by_test_id("result-count")).to_contain_text("1 service")
    card = page.get_by_test_id("listing-card").filter(has_text=TITLE)
    expect(card).to_be_visible()
    card.get_by_role("link", name=TITLE).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)


def test_freelancer_lists_a_service_staff_approve_it_and_an_employer_finds_it(page, live_server, tmp_path):
    seller = make_verified_seller()
    staff = make_user(is_staff=True)
    employer = make_user()
    browser = page.context.browser

    sign_in(page, seller.email)
    create_listing(page, tmp_path)

    staff_page = new_page(browser, live_server.url)
    try:
        sign_in(staff_page, staff.email)
        approve_in_admin(staff_page)
    finally:
        staff_page.context.close()

    employer_page = new_page(browser, live_server.url)
    try:
        sign_in(employer_page, employer.email)
        find_and_open(employer_page)

        expect(employer_page.get_by_test_id("price")).to_have_text("from $25.00 per tooth")
        expect(employer_page.get_by_text(ADD_ON)).to_be_visible()
        designer = employer_page.locator(".card", has=employer_page.get_by_role("heading", name="About the designer"))
        expect(designer.locator(".seller-name")).to_have_text(seller.profile.public_name)
        expect(designer.locator(".verified-badge")).to_have_text(re.compile("Verified"))
        expect(employer_page.locator(".listing-gallery img")).to_have_count(2)
    finally:
        employer_page.context.close()

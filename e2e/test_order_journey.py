"""An employer sends a case with an STL file and pays on the simulated gateway; the designer
accepts it from the dashboard and delivers; the employer asks for a revision, the designer
delivers again, and the employer completes the order."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.helpers import make_user
from e2e.helpers import new_page, sign_in, write_stl
from listings.tests.helpers import make_published

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Bridgeline zirconia bridge design"
INSTRUCTIONS = "Teeth 14-16, three-unit bridge, zirconia, shade A2. Pontic 15 modified ridge lap."
REVISION = "Please thicken the margin to 0.6 mm"


def expect_status(page: Page, text: str) -> None:
    expect(page.get_by_test_id("order-status")).to_have_text(text)


def file_link(page: Page, section: str, name: str):
    """The download link of a file under "Case files" or "Deliveries" on the order page."""
    return page.get_by_role("region", name=section).get_by_role("link", name=name)


def send_case(page: Page, listing_url: str, case_file: Path) -> None:
    page.goto(listing_url)
    page.get_by_role("link", name="Send Case").click()
    page.get_by_label("Quantity (priced per tooth)").fill("3")
    page.get_by_label("Case instructions").fill(INSTRUCTIONS)
    page.get_by_label("Case files").set_input_files(case_file)
    page.get_by_role("button", name="Review and pay").click()

    expect(page.get_by_test_id("test-mode")).to_contain_text("TEST MODE")
    expect(page.get_by_test_id("breakdown")).to_contain_text("$45.00")
    page.get_by_role("button", name="Approve payment (test card)").click()

    expect_status(page, "Waiting for the designer")
    expect(file_link(page, "Case files", case_file.name)).to_be_visible()


def deliver(page: Page, design: Path, note: str) -> None:
    page.get_by_label("Design files").set_input_files(design)
    page.get_by_label("Delivery note").fill(note)
    page.get_by_role("button", name="Deliver", exact=True).click()
    expect_status(page, "Delivered")


def test_employer_sends_a_case_the_designer_delivers_twice_and_the_employer_completes(page, live_server, tmp_path):
    listing = make_published(title=TITLE)
    employer = make_user()
    case_file = write_stl(tmp_path, "case-14-16.stl")

    sign_in(page, employer.email)
    send_case(page, listing.get_absolute_url(), case_file)
    order_url = page.url
    with page.expect_download() as download:
        file_link(page, "Case files", case_file.name).click()
    assert Path(download.value.path()).read_bytes() == case_file.read_bytes()

    designer = new_page(page.context.browser, live_server.url)
    try:
        sign_in(designer, listing.owner.email)
        designer.goto("/dashboard/")
        received = designer.get_by_test_id("orders-received")
        row = received.get_by_role("row").filter(has_text=TITLE)
        expect(row).to_contain_text("Your move")
        row.get_by_role("link", name=re.compile(TITLE)).click()
        expect(file_link(designer, "Case files", case_file.name)).to_be_visible()
        designer.get_by_role("button", name="Accept the case").click()
        expect_status(designer, "In progress")
        deliver(designer, write_stl(tmp_path, "design-14-16.stl"), "Bridge 14-16, connectors 10 mm².")

        page.reload()
        expect_status(page, "Delivered")
        expect(file_link(page, "Deliveries", "design-14-16.stl")).to_be_visible()
        page.get_by_label("What should change?").fill(REVISION)
        page.get_by_role("button", name="Ask for a revision").click()
        expect_status(page, "In progress")
        expect(page.get_by_test_id("timeline")).to_contain_text(REVISION)

        designer.reload()
        expect(designer.get_by_test_id("timeline")).to_contain_text(REVISION)
        deliver(designer, write_stl(tmp_path, "design-14-16-v2.stl"), "Margin thickened to 0.6 mm.")
    finally:
        designer.context.close()

    page.goto(order_url)
    expect_status(page, "Delivered")
    expect(file_link(page, "Deliveries", "design-14-16-v2.stl")).to_be_visible()
    page.get_by_role("button", name="Complete the order").click()
    expect_status(page, "Completed")

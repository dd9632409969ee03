"""A newcomer signs up, completes their profile, asks for identity verification, and
staff approve it in the admin: the public profile then shows the verified badge."""

import re
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from PIL import Image
from playwright.sync_api import Page, expect

from accounts.demo import demo_id_document
from accounts.models import User
from e2e.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "nadia@example.com"
USERNAME = "nadia-designs"
PASSWORD = "a-long-Secret-phrase-42"

STAFF_EMAIL = "reviewer@example.com"
STAFF_PASSWORD = "another-long-Secret-phrase-7"

VAT_NUMBER = "DE136695976"
PHONE = "+49 30 901820"

CONFIRM_PATH = re.compile(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)")


def write_photo(tmp_path: Path) -> Path:
    path = tmp_path / "portrait.png"
    Image.new("RGB", (320, 320), (11, 110, 138)).save(path, format="PNG")
    return path


def write_id_document(tmp_path: Path) -> Path:
    path = tmp_path / "passport.pdf"
    path.write_bytes(demo_id_document("Nadia Test").read())
    return path


def sign_up(page: Page) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_role("textbox", name=re.compile(r"^Password\*?$")).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_label("I accept the Terms of Service").check()
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()


def confirmation_path_sent_to(email: str) -> str:
    messages = [message for message in mail.outbox if email in message.to]
    assert len(messages) == 1, [message.subject for message in mail.outbox]
    match = CONFIRM_PATH.search(messages[0].body)
    assert match, messages[0].body
    return match.group(1)


def confirm_email(page: Page) -> None:
    page.goto(confirmation_path_sent_to(EMAIL))
    page.get_by_role("button", name="Confirm").click()
    # Confirming signs the newcomer in (ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION).
    expect(page.get_by_test_id("user-menu")).to_have_text(USERNAME)


def complete_profile(page: Page, tmp_path: Path) -> None:
    page.goto("/account/profile/")
    missing = page.get_by_test_id("completeness-missing")
    expect(missing).to_contain_text("About")
    expect(missing).to_contain_text("Profile photo")
    expect(missing).to_contain_text("Phone")

    page.get_by_label("About").fill("Dental technician and CAD designer: crowns, bridges and implant bars.")
    page.get_by_label("Profile photo").set_input_files(write_photo(tmp_path))
    finder = page.get_by_label("Find a language")
    finder.fill("germ")  # the filter box narrows the list of checkboxes
    expect(page.get_by_label("English", exact=True)).to_be_hidden()
    page.get_by_label("German", exact=True).check()
    finder.fill("")
    page.get_by_label("English", exact=True).check()
    page.get_by_label("Academic or professional training").fill("Master dental technician, Hamburg 2015.")
    page.get_by_label("Country").select_option("DE")
    page.get_by_label("VAT or tax number").fill(VAT_NUMBER)
    page.get_by_label("Phone").fill(PHONE)
    page.get_by_role("button", name="Save profile").click()

    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    expect(page.get_by_test_id("completeness-done")).to_be_visible()
    expect(page.get_by_test_id("completeness-missing")).to_have_count(0)


def request_verification(page: Page, tmp_path: Path) -> None:
    page.goto("/account/verification/")
    page.get_by_label("Passport").check()
    page.get_by_label("ID document").set_input_files(write_id_document(tmp_path))
    page.get_by_role("button", name="Send for verification").click()

    expect(page.get_by_test_id("verification-state")).to_contain_text("Waiting for review")


def create_staff() -> None:
    staff = User.objects.create_superuser(email=STAFF_EMAIL, username="reviewer", password=STAFF_PASSWORD)
    EmailAddress.objects.create(user=staff, email=STAFF_EMAIL, verified=True, primary=True)


def approve_in_admin(staff_page: Page) -> None:
    sign_in(staff_page, STAFF_EMAIL, STAFF_PASSWORD)
    staff_page.goto("/admin/accounts/verificationrequest/")
    staff_page.get_by_role("link", name=EMAIL).click()

    expect(staff_page.get_by_role("heading", name=re.compile("^Possible duplicates"))).to_be_visible()
    staff_page.get_by_role("button", name="Approve", exact=True).click()

    expect(staff_page.locator(".messagelist")).to_contain_text(f"Approved: {EMAIL} is verified")


def test_newcomer_gets_verified_and_shows_the_badge(page, live_server, tmp_path):
    sign_up(page)
    confirm_email(page)

    complete_profile(page, tmp_path)
    request_verification(page, tmp_path)

    create_staff()
    staff_context = page.context.browser.new_context(base_url=live_server.url)
    try:
        approve_in_admin(staff_context.new_page())
    finally:
        staff_context.close()

    assert any(message.subject.endswith("Your identity is verified") for message in mail.outbox)

    page.goto(f"/u/{USERNAME}/")
    name = page.get_by_test_id("profile-name")
    expect(name).to_contain_text(USERNAME)
    expect(name.locator(".verified-badge")).to_have_text(re.compile("Verified"))
    # Private contact details appear nowhere in the page, not even in hidden markup
    # (stored compact: "136695976", "+4930901820").
    html = page.content()
    assert "136695976" not in html
    assert "901820" not in html

"""A designer turns a draft into a private offer for two clients she knows: a lab that wrote
to her and a clinic that ordered from her. She finds each by typing part of the name
(htmx search, no inline script), checks them, and submits; once staff approve, the lab
opens the offer and finds it under "Private offers to me", while anyone else gets 404."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.services import profile_update
from accounts.tests.helpers import make_user
from e2e.helpers import new_page, sign_in
from listings.models import Listing
from listings.services import listing_approve
from listings.tests.helpers import make_draft, make_published, make_verified_seller
from messaging.tests.helpers import make_direct
from orders.tests.helpers import make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Zirconia crowns at a lab rate for regular clients"


def named(*, username: str, company: str = "", display: str = ""):
    user = make_user(username=username)
    data = {"display_name": display}
    if company:
        data.update(account_type="company", company_name=company)
    profile_update(profile=user.profile, data=data)
    return user


def mark_page(page: Page) -> None:
    page.evaluate("() => { window.stillTheSamePage = true; }")


def choose_clients(page: Page) -> None:
    page.get_by_label("Private listing: only for the clients chosen below").check()
    picker = page.get_by_test_id("recipient-picker")
    expect(picker.get_by_test_id("recipient-choice")).to_have_count(0)
    search = picker.get_by_label("Find a client by name, company or @handle")
    mark_page(page)

    search.press_sequentially("berl", delay=60)
    lab = picker.get_by_role("checkbox", name=re.compile("Dental Lab Berlin"))
    expect(lab).to_be_visible()
    expect(lab).not_to_be_checked()
    expect(picker.get_by_test_id("recipient-choice")).to_have_count(1)  # not the stranger from Berlin
    lab.check()

    search.fill("")
    search.press_sequentially("smile", delay=60)
    clinic = picker.get_by_role("checkbox", name=re.compile("Bright Smile Clinic"))
    expect(clinic).to_be_visible()
    expect(lab).to_be_checked()  # the new search kept the lab it was sent as checked
    clinic.check()

    with page.expect_response(lambda response: "/recipients/" in response.url):
        search.press("Enter")  # searches at once; it does not submit (and save) the listing form
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.stillTheSamePage === true"), "Enter in the search box submitted the form"
    expect(picker.get_by_test_id("recipient-choice")).to_have_count(2)

    page.get_by_role("button", name="Save and submit for review").click()
    expect(page.get_by_text("Submitted for review")).to_be_visible()


def test_a_designer_offers_a_listing_privately_to_clients_she_picks_by_name(page, live_server):
    seller = make_verified_seller()
    lab = named(username="lab-berlin", company="Dental Lab Berlin", display="Anna Weber")
    make_direct(sender=lab, recipient=seller, body="Hello, do you have a rate for regular crown work?")
    clinic = named(username="brightsmile", display="Bright Smile Clinic")
    make_order(listing=make_published(seller), employer=clinic)
    stranger = named(username="berlin-stranger", display="Berlin Stranger")  # never dealt with the seller
    draft = make_draft(seller, title=TITLE)

    refused = []  # what the Content Security Policy blocked (an inline script or handler would be)
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    sign_in(page, seller.email)
    page.goto(f"/listings/{draft.pk}/edit/")
    expect(page.get_by_test_id("recipient-picker")).to_contain_text("e.g. “")
    choose_clients(page)

    assert not refused, refused
    edited = Listing.objects.get(pk=draft.pk)
    assert set(edited.recipients.all()) == {lab, clinic}
    listing_approve(listing=edited, by=make_user(is_staff=True))

    lab_page = new_page(page.context.browser, live_server.url)
    try:
        sign_in(lab_page, lab.email)
        lab_page.goto("/listings/?private=on")
        lab_page.get_by_role("link", name=TITLE).click()
        expect(lab_page.get_by_role("heading", level=1)).to_have_text(TITLE)
        expect(lab_page.get_by_text("Private offer")).to_be_visible()
    finally:
        lab_page.context.close()

    stranger_page = new_page(page.context.browser, live_server.url)
    try:
        sign_in(stranger_page, stranger.email)
        response = stranger_page.goto(edited.get_absolute_url())
        assert response.status == 404
    finally:
        stranger_page.context.close()

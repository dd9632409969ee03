"""The browse page after its performance work (issue 17): a visitor searches as she types and
sees the matching cards, a query with nothing searchable shows the best rated with a note; a
price changed and a listing published in between show on the very next load although the page
is cached in Redis; a signed-in buyer saves a listing from its card and the star stays after a
reload while the card still opens the listing; a seller's profile pages through his services."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.helpers import make_user
from e2e.helpers import sign_in
from listings.models import Listing
from listings.services import listing_approve, listing_submit, listing_update
from listings.tests.helpers import content, make_published, make_verified_seller
from reviews.services import review_create
from reviews.tests.helpers import GOOD, completed_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RATED = "Kestrel implant bridge design"
MARLIN = "Marlin night guard design"
HERON = "Heron surgical guide design"
NEWCOMER = "Osprey diagnostic wax-up design"
NO_MATCH = "No services match."


@pytest.fixture
def listings():
    """Three services by one designer, the best rated published first (so that newest first
    would put it last)."""
    seller = make_verified_seller()
    rated = make_published(seller, title=RATED)
    order = completed_order(listing=rated)
    review_create(order=order, author=order.employer, rating=5, comment=GOOD)
    review_create(order=order, author=order.freelancer, rating=5, comment="Clear scans and a quick answer.")
    return {listing.title: listing for listing in [rated, make_published(seller, title=MARLIN),
                                                    make_published(seller, title=HERON)]}


def cards(page: Page):
    return page.get_by_test_id("listing-card")


def card(page: Page, title: str):
    return cards(page).filter(has=page.get_by_role("link", name=title, exact=True))


def search(page: Page, words: str) -> None:
    """Type into the search box: htmx swaps the results in and puts the words in the address,
    which names only the filters that say something (no `category=&price_min=&…`)."""
    page.locator("#id_q").fill(words)
    if words:
        expect(page).to_have_url(re.compile(rf"[?&]q={re.escape(words)}(&|$)"))
    else:
        expect(page).not_to_have_url(re.compile(r"[?&]q="))
    assert not re.search(r"=(&|$)", page.url), page.url


def change_price(listing: Listing, price_cents: int) -> Listing:
    """The seller edits the live listing and staff approve the edit, through the services."""
    edit = listing_update(listing=listing, by=listing.owner, data=content(title=listing.title, price_cents=price_cents),
                          software=listing.software.all())
    listing_submit(listing=edit, by=listing.owner)
    return listing_approve(listing=edit, by=make_user(is_staff=True))


def test_a_visitor_searches_and_sees_changes_on_the_next_load(page, listings):
    marlin = listings[MARLIN]
    page.goto("/listings/")
    expect(cards(page)).to_have_count(3)
    old_price = marlin.price_display
    expect(card(page, MARLIN).locator(".price")).to_have_text(old_price)

    # Searching as she types: only the matching card.
    search(page, "kestrel")
    expect(page.get_by_test_id("result-count")).to_have_text("1 service for “kestrel”")
    expect(cards(page)).to_have_count(1)
    expect(card(page, RATED)).to_be_visible()

    # Nothing searchable: a note, and every service, the best rated first.
    search(page, "the")
    expect(page.get_by_test_id("search-note")).to_contain_text("has no words we can search for")
    expect(cards(page)).to_have_count(3)
    expect(cards(page).first.get_by_role("link", name=RATED, exact=True)).to_be_visible()

    # A write that bypasses the services (and so the cache's signals) stays unseen: the page
    # really comes from the cache.
    page.goto("/listings/")
    Listing.objects.filter(pk=marlin.pk).update(price_cents=marlin.price_cents + 100)
    page.reload()
    expect(card(page, MARLIN).locator(".price")).to_have_text(old_price)

    # The seller's new price, approved by staff, shows on the very next load.
    marlin = change_price(marlin, 4200)
    assert marlin.price_display != old_price
    page.reload()
    expect(card(page, MARLIN).locator(".price")).to_have_text(marlin.price_display)

    # A search with no match, cached as a fragment and as a whole page...
    search(page, "osprey")
    expect(page.get_by_text(NO_MATCH)).to_be_visible()
    page.reload()
    expect(page.get_by_text(NO_MATCH)).to_be_visible()

    # ...finds the listing published since, on the next load and on the next search.
    make_published(listings[RATED].owner, title=NEWCOMER)
    page.reload()
    expect(cards(page)).to_have_count(1)
    expect(card(page, NEWCOMER)).to_be_visible()
    search(page, "")
    expect(cards(page)).to_have_count(4)
    search(page, "osprey")
    expect(cards(page)).to_have_count(1)
    expect(card(page, NEWCOMER)).to_be_visible()


def column(page: Page, title: str):
    """A result's grid cell: its card, and the favourite star drawn over it."""
    return page.locator("#results .col").filter(has=card(page, title))


def test_a_buyer_saves_a_listing_from_its_card_and_the_card_still_opens_it(page, listings):
    buyer = make_user()
    sign_in(page, buyer.email)
    page.goto("/listings/")
    expect(cards(page)).to_have_count(3)
    stars = page.locator(".card-favorite").get_by_test_id("favorite-button")
    expect(stars).to_have_count(3)
    for star in stars.all():
        expect(star).to_have_text("☆ Save")

    column(page, MARLIN).get_by_test_id("favorite-button").click()

    saved = column(page, MARLIN).get_by_test_id("favorite-button")
    expect(saved).to_have_text("★ Saved")
    expect(saved).to_have_attribute("aria-pressed", "true")
    expect(page).to_have_url(re.compile(r"/listings/$"))  # the star did not open the listing

    page.reload()
    expect(column(page, MARLIN).get_by_test_id("favorite-button")).to_have_text("★ Saved")
    for title in (RATED, HERON):
        expect(column(page, title).get_by_test_id("favorite-button")).to_have_text("☆ Save")

    # The card's body (here near its price, bottom left) is covered by the title's stretched link.
    marlin = card(page, MARLIN)
    box = marlin.bounding_box()
    marlin.click(position={"x": 20, "y": box["height"] - 20})
    expect(page).to_have_url(re.compile(re.escape(listings[MARLIN].get_absolute_url()) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(MARLIN)


def test_a_seller_profile_pages_through_more_than_12_services(page):
    seller = make_verified_seller()
    titles = [f"Printed study model {number:02d}" for number in range(13)]
    for title in titles:
        make_published(seller, title=title)
    newest_first = titles[::-1]

    page.goto(f"/u/{seller.username}/")
    services = page.get_by_test_id("profile-listings")
    expect(services.get_by_role("heading", level=2)).to_contain_text("(13)")
    expect(services.get_by_test_id("listing-card")).to_have_count(12)
    for title in newest_first[:12]:
        expect(services.get_by_role("link", name=title, exact=True)).to_be_visible()
    pages = services.get_by_role("navigation", name="Pages of services")
    expect(pages).to_contain_text("Page 1 of 2")

    pages.get_by_role("link", name="Next").click()

    expect(page).to_have_url(re.compile(r"\?listings_page=2#services$"))
    services = page.get_by_test_id("profile-listings")
    expect(services.get_by_test_id("listing-card")).to_have_count(1)
    expect(services.get_by_role("link", name=newest_first[12], exact=True)).to_be_visible()
    pages = services.get_by_role("navigation", name="Pages of services")
    expect(pages).to_contain_text("Page 2 of 2")
    expect(pages.get_by_role("link", name="Previous")).to_have_attribute("href", re.compile(r"listings_page=1"))

"""The main pages for everyone (issue 18): no serious or critical axe-core violations, nothing
wider than a 375 px phone with every action reachable, the order journey by keyboard alone,
a visible focus, and form errors tied to their fields.

axe-core comes with axe-playwright-python; the tests run it inside Chromium on each page as a
signed-in client, designer or visitor sees it."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounts.tests.helpers import PASSWORD, make_complete_profile, make_user
from e2e.helpers import new_page, sign_in, write_stl
from listings.tests.helpers import make_published
from messaging.tests.helpers import make_direct
from orders.models import Order
from orders.pin_services import pin_create
from orders.services import order_accept, order_deliver
from orders.tests.helpers import make_order, stl_upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}
SERIOUS = {"serious", "critical"}


def world() -> dict:
    """A designer with a live service and a delivered order from a client, a conversation
    between them, and an order still waiting for payment."""
    listing = make_published(title="Zirconia crown design", options=[("Express 24 h", 1500)])
    designer, client = listing.owner, make_user()
    make_complete_profile(client)
    order = order_accept(order=make_order(listing=listing, employer=client, files=[stl_upload("scan-26.stl")]),
                         by=designer)
    order_deliver(order=order, by=designer, note="Crown 26, contacts checked.", files=[stl_upload("crown-26.stl")])
    pin_create(file=order.files.get(name="crown-26.stl"), by=client, text="Margin open distally", point=[0, 0.3, 0.1],
               normal=[0, 0, 1], camera={"position": [0, -40, 30], "target": [0, 0.3, 0.1]})
    unpaid = make_order(listing=listing, employer=client, authorized=False)
    conversation, _, _ = make_direct(client, designer, body="Can you do a 3-unit bridge by Friday?")
    return {"listing": listing, "designer": designer, "client": client, "order": order, "unpaid": unpaid,
            "conversation": conversation}


def pages_of(w: dict) -> dict[str, list[tuple[str, str]]]:
    """Who looks (None: a visitor) -> (name, address) of the pages they open."""
    listing = w["listing"]
    return {
        None: [("home", "/"), ("browse", reverse("listings:browse")), ("listing", listing.get_absolute_url()),
               ("sign-up", reverse("account_signup")), ("sign-in", reverse("account_login"))],
        w["client"].email: [
            ("send case", reverse("orders:send_case", args=[listing.pk])),
            ("pay", reverse("orders:pay", args=[w["unpaid"].pk])),
            ("order", reverse("orders:detail", args=[w["order"].pk])),
            ("design review", reverse("orders:review", args=[w["order"].pk, w["order"].files.get(
                name="crown-26.stl").pk])),
            ("compare", reverse("orders:compare", args=[w["order"].pk])),
            ("dashboard", reverse("dashboard")),
            ("messages", reverse("messaging:inbox")),
            ("conversation", reverse("messaging:conversation", args=[w["conversation"].pk])),
            ("profile edit", reverse("accounts:profile")),
            ("verification", reverse("accounts:verification")),
        ],
        w["designer"].email: [("earnings", reverse("payouts:index")), ("designer dashboard", reverse("dashboard"))],
    }


def serious_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["target"][0] if isinstance(node["target"][0], str) else str(node["target"])
                    for node in violation["nodes"][:4])
        for violation in results.response["violations"] if violation["impact"] in SERIOUS
    ]


def visit_all(browser, live_server, w, check) -> list[str]:
    problems = []
    for who, addresses in pages_of(w).items():
        for viewport in (None, PHONE):
            page = new_page(browser, live_server.url)
            try:
                if who:
                    sign_in(page, who)
                if viewport:
                    page.set_viewport_size(viewport)
                for name, address in addresses:
                    page.goto(address)
                    # The 3D pages are checked once the model and its markers are drawn.
                    page.wait_for_function("() => !document.querySelector('[data-review][data-state=loading], "
                                           "[data-compare][data-state=loading]')")
                    problems += [f"{name} {'375 px' if viewport else 'desktop'}: {problem}"
                                 for problem in check(page, phone=bool(viewport))]
            finally:
                page.context.close()
    return problems


def test_no_serious_or_critical_axe_violations_on_the_main_pages(browser, live_server):
    w = world()

    problems = visit_all(browser, live_server, w, lambda page, phone: serious_violations(page))

    assert problems == [], "\n".join(problems)


def overflow(page: Page, phone: bool) -> list[str]:
    if not phone:
        return []
    wide = page.evaluate("""() => {
        const limit = document.documentElement.clientWidth;
        return [...document.querySelectorAll('body *')]
            .filter((el) => { const box = el.getBoundingClientRect(); return box.width && box.right > limit + 1
                && getComputedStyle(el).position !== 'fixed'
                && !el.closest('.visually-hidden, .visually-hidden-focusable, .carousel, '
                               + '.dropdown-menu, .collapse:not(.show)'); })
            .slice(0, 3).map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : ''));
    }""")
    scroll = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    sideways = [f"scrolls sideways by {scroll} px"] if scroll > 0 else []
    return sideways + [f"wider than the screen: {el}" for el in wide]


def test_nothing_is_wider_than_a_phone(browser, live_server):
    w = world()

    problems = visit_all(browser, live_server, w, overflow)

    assert problems == [], "\n".join(problems)


# --- by keyboard alone ---------------------------------------------------------------------------

FOCUSED = r"""() => {
    const el = document.activeElement;
    const name = ((el.labels && el.labels.length ? el.labels[0].innerText : '')
        || el.getAttribute('aria-label') || el.innerText || el.value || '').replace(/\*\s*$/, '');
    const style = getComputedStyle(el);
    const visible = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
        || style.boxShadow !== 'none';
    return {name: name.trim(), visible};
}"""


def tab_to(page: Page, name: str, *, limit: int = 120) -> None:
    """Press Tab until the control named `name` has the focus, which must be visible."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["name"] == name or focused["name"].startswith(name + "\n"):
            assert focused["visible"], f"the focus on {name!r} cannot be seen"
            return
    raise AssertionError(f"{name!r} cannot be reached with Tab")


def follow(page: Page) -> None:
    """Enter on the focused link or button, then wait for the page it opens."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def keyboard_sign_in(page: Page, email: str) -> None:
    page.goto(reverse("account_login"))
    tab_to(page, "Email")
    page.keyboard.type(email)
    tab_to(page, "Password")
    page.keyboard.type(PASSWORD)
    follow(page)
    expect(page.get_by_test_id("user-menu")).to_be_visible()


def test_the_order_journey_works_by_keyboard_alone(browser, live_server, tmp_path):
    listing = make_published(title="Zirconia crown design")
    client, case_file = make_user(), write_stl(tmp_path, "case-26.stl")
    page = new_page(browser, live_server.url)
    designer = new_page(browser, live_server.url)
    try:
        keyboard_sign_in(page, client.email)
        page.goto(listing.get_absolute_url())
        tab_to(page, "Send Case")
        follow(page)
        tab_to(page, "Quantity (priced per tooth)")
        page.keyboard.press("Control+A")
        page.keyboard.type("2")
        tab_to(page, "Case instructions")
        page.keyboard.type("Crown 26, zirconia, shade A2.")
        tab_to(page, "Case files")
        with page.expect_file_chooser() as chooser:
            page.keyboard.press("Space")
        chooser.value.set_files(case_file)
        tab_to(page, "Review and pay")
        follow(page)
        tab_to(page, "Approve payment (test card)")
        follow(page)
        expect(page.get_by_test_id("order-status")).to_have_text("Waiting for the designer")

        keyboard_sign_in(designer, listing.owner.email)
        designer.goto(page.url)
        tab_to(designer, "Accept the case")
        follow(designer)
        expect(designer.get_by_test_id("order-status")).to_have_text("In progress")
    finally:
        page.context.close()
        designer.context.close()
    assert Order.objects.get(listing=listing).status == Order.Status.ACCEPTED


def test_form_errors_are_tied_to_their_fields_and_announced(page, live_server):
    listing = make_published()
    sign_in(page, make_user().email)

    page.goto(reverse("orders:send_case", args=[listing.pk]))
    page.get_by_label("Case instructions").fill("Crown 26.")
    page.get_by_role("button", name="Review and pay").click()

    files = page.get_by_label("Case files")
    expect(files).to_have_attribute("aria-invalid", "true")
    described = files.get_attribute("aria-describedby").split()
    errors = [page.locator(f"#{ident}").inner_text() for ident in described]
    assert any(text.strip() for text in errors), errors  # the error itself, not only the help text

    page.context.clear_cookies()
    page.goto(reverse("account_login"))
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("alert")).to_contain_text(re.compile("not correct|incorrect", re.I))


# --- a 375 px phone ------------------------------------------------------------------------------


def test_a_client_orders_and_reads_messages_on_a_phone(browser, live_server, tmp_path):
    listing = make_published(title="Zirconia crown design")
    client = make_user()
    make_direct(listing.owner, client, body="Send me the scans when you are ready.")
    page = new_page(browser, live_server.url)
    page.set_viewport_size(PHONE)
    try:
        page.goto(reverse("account_login"))
        page.get_by_label("Email").fill(client.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign In").click()
        page.get_by_role("button", name="Toggle navigation").click()
        expect(page.get_by_test_id("user-menu")).to_be_visible()

        page.goto(listing.get_absolute_url())
        page.get_by_role("link", name="Send Case").click()
        page.get_by_label("Case instructions").fill("Crown 26, zirconia, shade A2.")
        page.get_by_label("Case files").set_input_files(write_stl(tmp_path, "case-26.stl"))
        page.get_by_role("button", name="Review and pay").click()
        page.get_by_role("button", name="Approve payment (test card)").click()
        expect(page.get_by_test_id("order-status")).to_have_text("Waiting for the designer")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]

        page.get_by_role("button", name="Toggle navigation").click()
        page.get_by_test_id("nav-messages").click()
        page.get_by_role("link", name=re.compile(listing.owner.display_name)).first.click()
        expect(page.get_by_text("Send me the scans when you are ready.")).to_be_visible()
        page.get_by_label("Message", exact=True).fill("Sent, thank you.")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_text("Sent, thank you.")).to_be_visible()
    finally:
        page.context.close()

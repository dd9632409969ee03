"""Paying by card in the browser, in Stripe mode, against localstripe.

localstripe plays Stripe's API; `e2e/stripe_standin/v3.js`, served here by a test-only
server that also passes the API calls on to localstripe, plays the parts of Stripe.js that
localstripe's own fake lacks (the Payment Element, `confirmPayment`). A lab's card
4000 0000 0000 0341 is declined and the page says why; it pays another case with
4242 4242 4242 4242, reloads the payment page after paying, and pays a third case from two
tabs; the designer accepts the second case (captured at localstripe) and declines the third
(cancelled). (localstripe cannot confirm a PaymentIntent again after a decline, so paying the
declined case with another card is left to a check with real Stripe test keys: README.)
No page logs a Content-Security-Policy violation. Another test blocks Stripe.js and checks
the page says so."""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.helpers import make_user
from e2e.helpers import new_page, sign_in, write_stl
from listings.tests.helpers import make_published
from orders.models import Order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STANDIN = Path(__file__).parent / "stripe_standin" / "v3.js"
DECLINED, VISA = "4000 0000 0000 0341", "4242 4242 4242 4242"


@pytest.fixture
def stripe_edge(localstripe_url):
    """A test-only server playing Stripe's edge for the browser and the site alike: /v3/ is the
    Stripe.js stand-in (anything else under /blocked/ answers 404), and every other request is
    passed on to localstripe, with the CORS headers a browser needs to call it."""
    script = STANDIN.read_bytes()
    upstream = localstripe_url

    class Handler(BaseHTTPRequestHandler):
        def _cors(self):
            origin = self.headers.get("Origin")
            if origin:
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
                self.send_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")

        def do_OPTIONS(self):
            self.send_response(204)
            self._cors()
            self.end_headers()

        def _forward(self):
            if self.path == "/v3/":
                self._answer(200, "text/javascript; charset=utf-8", script)
                return
            if self.path.startswith("/blocked/"):
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {name: value for name, value in self.headers.items()
                       if name.lower() in {"authorization", "content-type", "idempotency-key", "stripe-account",
                                           "stripe-version", "accept"}}
            request = urllib.request.Request(upstream + self.path, data=body, headers=headers, method=self.command)
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    self._answer(answer.status, answer.headers.get("Content-Type", "application/json"), answer.read())
            except urllib.error.HTTPError as error:
                self._answer(error.code, error.headers.get("Content-Type", "application/json"), error.read())

        do_GET = do_POST = do_DELETE = _forward

        def _answer(self, status, content_type, payload):
            self.send_response(status)
            self._cors()
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def stripe_mode(stripe_settings, stripe_edge):
    """The site in Stripe mode: its API calls and the browser's Stripe.js both go to the edge."""
    stripe_settings.STRIPE_API_BASE = stripe_edge
    stripe_settings.STRIPE_JS_URL = f"{stripe_edge}/v3/"
    return stripe_settings


def watch_console(page: Page) -> list[str]:
    """What the page logs as errors (a blocked script or frame is logged as one)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def csp_violations(errors: list[str]) -> list[str]:
    return [error for error in errors if "Content Security Policy" in error or "Content-Security-Policy" in error]


def send_case(page: Page, listing, tmp_path: Path) -> str:
    page.goto(listing.get_absolute_url())
    page.get_by_role("link", name="Send Case").click()
    page.get_by_label("Case instructions").fill("Crown 36, zirconia, shade A2.")
    page.get_by_label("Case files").set_input_files(write_stl(tmp_path, "crown-36.stl"))
    page.get_by_role("button", name="Review and pay").click()
    expect(page).to_have_url(re.compile(r"/orders/\d+/pay/$"))
    return page.url


def pay(page: Page, card: str) -> None:
    expect(page.get_by_test_id("payment-loading")).to_be_hidden()
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry (MM / YY)").fill("12 / 31")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name=re.compile(r"^Authorize \$")).click()


def payment_intent(stripe_client, order: Order):
    return stripe_client.v1.payment_intents.retrieve(order.payment_id)


def test_a_lab_pays_by_card_and_the_designer_accepts_one_case_and_declines_another(
        page, live_server, stripe_mode, stripe_client, tmp_path):
    listing = make_published(price_cents=18_000, title="Zirconia crown, anatomic, exocad")
    lab = make_user()
    console = watch_console(page)
    sign_in(page, lab.email)

    # A declined card: the bank's message, the button usable again, nothing authorized.
    send_case(page, listing, tmp_path)
    pay(page, DECLINED)
    expect(page.get_by_role("alert").filter(has_text="Your card was declined.")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Authorize"))).to_be_enabled()
    declined = Order.objects.get(employer=lab)
    assert declined.status == Order.Status.PENDING_PAYMENT
    assert payment_intent(stripe_client, declined).status == "requires_payment_method"

    # Another case, paid.
    pay_url = send_case(page, listing, tmp_path)
    pay(page, VISA)
    expect(page.get_by_test_id("order-status")).to_have_text("Waiting for the designer")
    first = Order.objects.filter(employer=lab).latest("pk")
    intent = payment_intent(stripe_client, first)
    assert (intent.status, intent.amount) == ("requires_capture", 18_000)

    # Back to the payment page after paying: no second form, the order page says it is paid.
    page.goto(pay_url)
    expect(page.get_by_text("Your card is already authorized for this case")).to_be_visible()
    expect(page.get_by_test_id("order-status")).to_have_text("Waiting for the designer")

    # A second case, paid from two tabs: the second tab is told it is already paid.
    pay_url = send_case(page, listing, tmp_path)
    second_tab = page.context.new_page()
    console += watch_console(second_tab)
    second_tab.goto(pay_url)
    pay(page, VISA)
    expect(page.get_by_test_id("order-status")).to_have_text("Waiting for the designer")
    pay(second_tab, VISA)
    expect(second_tab.get_by_test_id("payment-message")).to_contain_text("This case is already paid")
    second = Order.objects.filter(employer=lab).latest("pk")
    assert payment_intent(stripe_client, second).status == "requires_capture"

    designer = new_page(page.context.browser, live_server.url)
    console += watch_console(designer)
    try:
        sign_in(designer, listing.owner.email)
        designer.goto(f"/orders/{first.pk}/")
        designer.get_by_role("button", name="Accept the case").click()
        expect(designer.get_by_test_id("order-status")).to_have_text("In progress")
        designer.goto(f"/orders/{second.pk}/")
        designer.get_by_label("Reason for declining (optional)").fill("Fully booked this week, sorry.")
        designer.get_by_role("button", name="Decline the case").click()
        expect(designer.get_by_test_id("order-status")).to_have_text("Declined")
    finally:
        designer.context.close()

    assert payment_intent(stripe_client, first).status == "succeeded"  # captured on acceptance
    assert payment_intent(stripe_client, second).status == "canceled"  # released on decline
    assert csp_violations(console) == []


def test_the_payment_page_says_so_when_stripe_js_cannot_load(page, stripe_mode, stripe_edge, tmp_path):
    stripe_mode.STRIPE_JS_URL = f"{stripe_edge}/blocked/v3/"  # answers 404, as a blocked script would fail
    listing = make_published(price_cents=9_000)
    sign_in(page, make_user().email)
    send_case(page, listing, tmp_path)

    message = page.get_by_test_id("payment-message")
    expect(message).to_contain_text("The card form could not load", timeout=15_000)
    expect(message).to_contain_text("Stripe.js did not load")
    expect(page.get_by_role("button", name=re.compile(r"^Authorize"))).to_be_disabled()


LOADERROR = """
window.Stripe = function () {
  return { elements: function () { return { create: function () {
    var handlers = {};
    return { on: function (name, handler) { handlers[name] = handler; },
             mount: function () { setTimeout(function () {
               handlers.loaderror({ error: { message: "Invalid client secret" } }); }, 0); } };
  } }; } };
};
"""


def test_a_payment_element_that_reports_a_load_error_is_said_not_left_empty(page, stripe_mode, stripe_edge,
                                                                             tmp_path):
    """Stripe reports a Payment Element that cannot load with "loaderror" (a bad client
    secret, a blocked frame): the page must say so and keep the button off."""
    page.route(f"{stripe_edge}/v3/", lambda route: route.fulfill(status=200, content_type="text/javascript",
                                                                  body=LOADERROR))
    sign_in(page, make_user().email)
    send_case(page, make_published(price_cents=9_000), tmp_path)

    message = page.get_by_test_id("payment-message")
    expect(message).to_contain_text("The card form could not load: Invalid client secret")
    expect(page.get_by_role("button", name=re.compile(r"^Authorize"))).to_be_disabled()

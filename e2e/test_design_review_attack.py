"""Design review in the browser, attacked: markup typed into a pin and a reply stays text in the
list and on the markers, many htmx swaps of the pin list leave exactly one marker per pin (no
markers, measurement ends or lines left over), and nothing on the page breaks the strict CSP."""

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import sign_in
from e2e.test_design_review_journey import VIEWPORT, canvas_point, delivered_order, open_review, pick, pin_at
from orders.models import Pin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARKUP = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
# Collects CSP violations as the browser reports them, before any script of the page runs.
WATCH_CSP = """
  window.__csp = [];
  document.addEventListener("securitypolicyviolation", (event) => {
    window.__csp.push(`${event.violatedDirective} ${event.blockedURI}`);
  });
"""


def watched(page: Page) -> list[str]:
    problems: list[str] = []
    page.add_init_script(WATCH_CSP)
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
    return problems


def markers(page: Page) -> dict:
    return page.evaluate("""() => ({
      pins: document.querySelectorAll('[data-pin]').length,
      markers: document.querySelectorAll('[data-review-markers] [data-marker]').length,
      ends: document.querySelectorAll('[data-review-markers] [data-marker-end]').length,
      temporary: document.querySelectorAll('[data-review-markers] [data-marker-new], '
                                           + '[data-review-markers] [data-marker-measure]').length,
      all: document.querySelector('[data-review-markers]').children.length,
      overlays: document.querySelectorAll('[data-review-markers]').length,
      canvases: document.querySelectorAll('[data-review-stage] canvas').length,
    })""")


def test_markup_stays_text_and_swaps_leave_one_marker_per_pin_under_the_csp(page, live_server):
    order = delivered_order()
    problems = watched(page)
    sign_in(page, order.employer.email)
    page.set_viewport_size(VIEWPORT)
    response = page.goto(f"/orders/{order.pk}/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    open_review(page, order, "crown-36.stl")

    # Markup typed as a comment comes back as text, in the list and nowhere as HTML.
    spot = canvas_point(page, 0.0, -0.02)
    pin_at(page, *spot, MARKUP)
    expect(page.locator("#pin-1 [data-pin-text]")).to_have_text(MARKUP)
    expect(page.locator('[data-marker="1"]')).to_have_text("1")

    # Pins added, measured and removed through many htmx swaps of the list.
    for round_ in range(3):
        pin_at(page, *canvas_point(page, 0.05, 0.03), f"Round {round_}")
        page.get_by_role("button", name="Measure").click()
        pick(page, *canvas_point(page, -0.15, 0.0))
        pick(page, *canvas_point(page, 0.15, 0.0))
        page.get_by_role("button", name="Save as pin").click()
        page.locator("[data-pin-form]").get_by_label("Comment").fill(f"Width {round_}")
        page.get_by_role("button", name="Add pin").click()
        expect(page.locator("[data-pin]", has_text=f"Width {round_}")).to_be_visible()
        page.get_by_role("button", name="Measure").click()  # off again
        for text in (f"Round {round_}", f"Width {round_}"):
            number = Pin.objects.get(text=text).number
            page.locator(f"#pin-{number}").get_by_role("button", name=f"Remove pin {number}").click()
            expect(page.locator(f"#pin-{number}")).to_have_count(0)
        expect(page.locator("[data-marker]")).to_have_count(1)

    # The designer answers with markup: text again, and the marker shows it resolved.
    page.locator("#pin-1").get_by_text("Resolve with a reply").click()
    page.locator("#pin-1").get_by_label("Reply to pin 1").fill(MARKUP)
    page.locator("#pin-1").get_by_role("button", name="Mark resolved").click()
    expect(page.locator("#pin-1")).to_have_attribute("data-resolved", "1")
    expect(page.locator("#pin-1 [data-pin-reply] .about-text")).to_have_text(MARKUP)

    assert markers(page) == {"pins": 1, "markers": 1, "ends": 0, "temporary": 0, "all": 1, "overlays": 1,
                             "canvases": 1}
    assert page.evaluate("() => window.__xss") is None
    assert page.evaluate("() => window.__csp") == []
    assert problems == []


def test_the_compare_page_shows_names_as_text_under_the_csp(page, live_server):
    from orders.services import order_deliver, order_request_revision
    from orders.tests.helpers import stl_upload

    order = delivered_order()
    order = order_request_revision(order=order, by=order.employer, message="again")
    order_deliver(order=order, by=order.freelancer, files=[stl_upload("v2 & 'x' &lt;b&gt;.stl", triangles=12)])
    problems = watched(page)
    sign_in(page, order.employer.email)
    page.goto(f"/orders/{order.pk}/compare/?delivery=2")

    compare = page.locator("[data-compare]")
    expect(compare).to_have_attribute("data-state", "ready", timeout=60_000)
    # Uploads lose < > " (cadcam.files.safe_filename); what is left must still show as typed.
    name = "v2 & 'x' &lt;b&gt;.stl"
    expect(page.locator(".compare-pane-label").last).to_have_text(f"Revision 1 · {name}")
    expect(page.locator("#compare-b option:checked")).to_have_text(f"Revision 1 · {name}")
    # Switching views again and again releases each view's WebGL context (browsers keep 16).
    warnings: list[str] = []
    page.on("console", lambda message: ("Too many active WebGL contexts" in message.text
                                         or "CONTEXT_LOST" in message.text) and warnings.append(message.text))
    for _ in range(12):
        page.get_by_label("Side by side").check()
        expect(compare).to_have_attribute("data-mode", "side")
        page.get_by_label("Overlay").check()
        expect(compare).to_have_attribute("data-mode", "overlay")
    assert page.locator("[data-compare-stage] canvas").count() == 1
    assert page.locator("[data-compare-pane]").count() == 1
    assert warnings == []
    assert page.evaluate("() => window.__csp") == []
    assert problems == []

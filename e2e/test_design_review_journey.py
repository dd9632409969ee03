"""Design review on the model, in the browser: the lab pins two points of a delivered crown and
asks for a revision with them; the designer sees both pins where the lab put them (read from
the markers on the page), delivers again and resolves one from the new delivery; the lab
compares the two deliveries, overlaid and side by side. Plus measuring, flying back to a pin,
and the pages without WebGL or with a mesh too large to draw."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import Page, expect

from e2e.helpers import sign_in
from orders.demo import MOLAR, binary_stl, row_triangles
from orders.models import Order, Pin
from orders.services import order_accept, order_deliver
from orders.tests.helpers import make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT = {"width": 1280, "height": 900}
READY = ("() => { const r = document.querySelector('[data-review]');"
         " return r && r.dataset.state === 'ready' && r.dataset.pickReady === '1'; }")
PICKS = "() => Number(document.querySelector('[data-review]').dataset.picks || 0)"


def crown(name: str, *, height: float = 6.5) -> SimpleUploadedFile:
    """A molar crown as the demo generates it (about 1,700 triangles), in mm."""
    tooth = MOLAR if height == MOLAR.height else type(MOLAR)(MOLAR.width, MOLAR.depth, height, MOLAR.cusps)
    return SimpleUploadedFile(name, binary_stl(row_triangles([tooth]), header=f"{name} test crown"))


def delivered_order() -> Order:
    order = make_order(files=[crown("scan-36.stl", height=4.5)])
    order = order_accept(order=order, by=order.freelancer)
    order_deliver(order=order, by=order.freelancer, files=[crown("crown-36.stl")], note="First design")
    return order


def open_review(page: Page, order: Order, file_name: str) -> None:
    page.goto(f"/orders/{order.pk}/")
    row = page.locator(".order-files li", has=page.get_by_role("link", name=file_name, exact=True))
    row.get_by_test_id("review-link").click()
    expect(page.get_by_role("heading", name=file_name)).to_be_visible()
    page.wait_for_function(READY, timeout=60_000)


def canvas_point(page: Page, dx: float, dy: float) -> tuple[float, float]:
    """A point of the canvas, `dx`/`dy` of its size from its centre, in page pixels."""
    box = page.get_by_test_id("review-canvas").bounding_box()
    return box["x"] + box["width"] * (0.5 + dx), box["y"] + box["height"] * (0.5 + dy)


def pick(page: Page, x: float, y: float) -> None:
    before = page.evaluate(PICKS)
    page.mouse.click(x, y)
    page.wait_for_function(f"() => ({PICKS})() > {before}")


def pin_at(page: Page, x: float, y: float, text: str) -> None:
    pick(page, x, y)
    form = page.locator("[data-pin-form]")
    expect(form).to_be_visible()
    form.get_by_label("Comment").fill(text)
    form.get_by_role("button", name="Add pin").click()
    expect(page.locator("[data-pin]", has_text=text)).to_be_visible()
    expect(form).to_be_hidden()


def marker_position(page: Page, number: int) -> tuple[float, float]:
    """Where marker `number` is drawn, in page pixels (its centre)."""
    box = page.locator(f'[data-marker="{number}"]').bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def close(a: tuple[float, float], b: tuple[float, float], pixels: float = 4.0) -> bool:
    return abs(a[0] - b[0]) <= pixels and abs(a[1] - b[1]) <= pixels


def test_lab_pins_asks_for_a_revision_designer_resolves_lab_compares(browser, live_server):
    order = delivered_order()
    errors: list[str] = []

    def person(email: str) -> Page:
        page = browser.new_context(base_url=live_server.url, viewport=VIEWPORT).new_page()
        page.set_default_timeout(20_000)
        page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
        page.on("console", lambda message: message.type == "error" and errors.append(f"console: {message.text}"))
        sign_in(page, email)
        return page

    # The lab pins two points of the delivered crown.
    lab = person(order.employer.email)
    open_review(lab, order, "crown-36.stl")
    first, second = canvas_point(lab, 0.0, -0.02), canvas_point(lab, 0.06, 0.05)
    pin_at(lab, *first, "Margin open here")
    pin_at(lab, *second, "Contact too light on 26 mesial")
    assert close(marker_position(lab, 1), first) and close(marker_position(lab, 2), second)
    pins = list(Pin.objects.order_by("number"))
    assert [(p.number, p.text, p.author_id) for p in pins] == [
        (1, "Margin open here", order.employer_id), (2, "Contact too light on 26 mesial", order.employer_id)]
    assert pins[0].point != pins[1].point

    # ... and sends both with the revision request.
    lab.goto(f"/orders/{order.pk}/")
    pins_box = lab.get_by_test_id("revision-pins")
    expect(pins_box.get_by_role("checkbox", name="1. Margin open here — crown-36.stl")).to_be_checked()
    expect(pins_box.get_by_role("checkbox", name="2. Contact too light on 26 mesial — crown-36.stl")).to_be_checked()
    lab.get_by_label("What should change?").fill("Two things, both pinned on the model.")
    lab.get_by_role("button", name="Ask for a revision").click()
    expect(lab.get_by_test_id("timeline")).to_contain_text("(with pins 1, 2)")

    # The designer sees both pins on the model, where the lab put them.
    designer = person(order.freelancer.email)
    open_review(designer, order, "crown-36.stl")
    expect(designer.locator("[data-marker]")).to_have_count(2)
    assert close(marker_position(designer, 1), first), (marker_position(designer, 1), first)
    assert close(marker_position(designer, 2), second), (marker_position(designer, 2), second)

    # The designer delivers again ...
    designer.goto(f"/orders/{order.pk}/")
    designer.locator("#id_files").set_input_files(
        files=[{"name": "crown-36-v2.stl", "mimeType": "model/stl", "buffer": crown("v2.stl", height=6.8).read()}])
    designer.get_by_label("Delivery note").fill("Margin closed; contact strengthened.")
    designer.get_by_role("button", name="Deliver").click()
    expect(designer.get_by_text("Delivered. The client was told.")).to_be_visible()

    # ... and on the new delivery, where the pins came along, resolves the first with a reply.
    open_review(designer, order, "crown-36-v2.stl")
    carried = designer.locator("[data-pin][data-carried='1']")
    expect(carried).to_have_count(2)
    expect(designer.locator("[data-marker]")).to_have_count(2)
    pin_one = designer.locator("#pin-1")
    pin_one.get_by_text("Resolve with a reply").click()
    pin_one.get_by_label("Reply to pin 1").fill("Margin closed to the chamfer.")
    pin_one.get_by_role("button", name="Mark resolved").click()
    expect(designer.locator("#pin-1")).to_have_attribute("data-resolved", "1")
    expect(designer.locator("#pin-1")).to_contain_text("Margin closed to the chamfer.")
    expect(designer.locator('[data-marker="1"]')).to_have_class(re.compile(r"\bis-resolved\b"))
    assert Pin.objects.get(number=1).reply == "Margin closed to the chamfer."
    assert not Pin.objects.get(number=2).is_resolved

    # The lab compares the two deliveries.
    lab.goto(f"/orders/{order.pk}/")
    expect(lab.get_by_role("link", name="Review in 3D · 2 pins, 1 open").first).to_be_visible()
    lab.get_by_test_id("compare-link").first.click()
    compare = lab.locator("[data-compare]")
    expect(compare).to_have_attribute("data-state", "ready", timeout=60_000)
    expect(compare.locator('[data-compare-file="a"]')).to_have_attribute("data-mesh-name", "crown-36.stl")
    expect(compare.locator('[data-compare-file="b"]')).to_have_attribute("data-mesh-name", "crown-36-v2.stl")
    overlay = lab.get_by_test_id("compare-canvas-overlay")
    both = overlay.screenshot()
    lab.get_by_label("Revision 1 (orange)", exact=False).uncheck()
    assert overlay.screenshot() != both, "hiding the revision changed nothing"
    lab.get_by_label("Revision 1 (orange)", exact=False).check()

    lab.get_by_label("Side by side").check()
    expect(compare).to_have_attribute("data-mode", "side")
    left, right = lab.get_by_test_id("compare-canvas-a"), lab.get_by_test_id("compare-canvas-b")
    expect(left).to_be_visible()
    expect(right).to_be_visible()
    right_before = right.screenshot()
    box = left.bounding_box()
    lab.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    lab.mouse.down()
    lab.mouse.move(box["x"] + box["width"] / 2 + 150, box["y"] + box["height"] / 2 + 40, steps=8)
    lab.mouse.up()
    assert right.screenshot() != right_before, "turning the left model did not turn the right one"
    assert errors == []


def test_measuring_between_two_points_and_flying_back_to_a_pin(page, live_server):
    order = delivered_order()
    sign_in(page, order.employer.email)
    page.set_viewport_size(VIEWPORT)
    open_review(page, order, "crown-36.stl")

    page.get_by_role("button", name="Measure").click()
    expect(page.get_by_role("button", name="Measure")).to_have_attribute("aria-pressed", "true")
    pick(page, *canvas_point(page, -0.2, 0.0))
    pick(page, *canvas_point(page, 0.2, 0.0))
    measured = page.locator("[data-review-measurement]")
    expect(measured).to_have_text(re.compile(r"^\d+\.\d\d mm$"))
    page.get_by_role("button", name="Save as pin").click()
    page.locator("[data-pin-form]").get_by_label("Comment").fill("Width at the height of contour")
    page.get_by_role("button", name="Add pin").click()
    expect(page.locator("#pin-1 [data-pin-length]")).to_have_text(measured.inner_text())
    saved = Pin.objects.get()
    assert saved.kind == "measurement" and f"{saved.length_mm:.2f} mm" == measured.inner_text()
    assert 5 < saved.length_mm < 12  # across a 10.5 mm crown, between two picked surface points

    # Turn the model, then fly back: the pin's marker returns to where it was placed.
    placed = marker_position(page, 1)
    box = page.get_by_test_id("review-canvas").bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(box["x"] + 300, box["y"] + 160, steps=8)
    page.mouse.up()
    assert not close(marker_position(page, 1), placed)
    page.locator("#pin-1").get_by_role("button", name="Show pin 1 on the model").click()
    page.wait_for_timeout(700)  # the flight takes about 400 ms
    assert close(marker_position(page, 1), placed, pixels=6), (marker_position(page, 1), placed)


def test_without_webgl_the_pins_are_listed_and_the_page_says_why(page, live_server):
    order = delivered_order()
    from orders.pin_services import pin_create

    pin_create(file=order.files.get(name="crown-36.stl"), by=order.employer, text="Margin open here",
               point=[0, 0, 6], normal=[0, 0, 1], camera={"position": [0, -40, 30], "target": [0, 0, 3]})
    page.add_init_script("""
      const original = HTMLCanvasElement.prototype.getContext;
      HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
        return /webgl/i.test(kind) ? null : original.call(this, kind, ...rest);
      };
    """)
    sign_in(page, order.freelancer.email)
    page.goto(f"/orders/{order.pk}/")
    page.get_by_test_id("review-link").last.click()

    root = page.locator("[data-review]")
    expect(root).to_have_attribute("data-state", "fallback")
    expect(root).to_have_attribute("data-fallback-reason", "webgl")
    expect(page.locator("[data-review-status]")).to_contain_text("WebGL")
    expect(page.locator("#pin-1")).to_contain_text("Margin open here")
    expect(page.locator("#pin-1 [data-pin-fly]")).to_have_text("1")
    expect(page.get_by_test_id("review-canvas")).to_have_count(0)


def test_a_mesh_over_the_triangle_limit_is_not_drawn_and_the_page_says_so(page, live_server, settings):
    settings.PREVIEW_MAX_TRIANGLES = 500
    order = delivered_order()
    sign_in(page, order.employer.email)
    page.goto(f"/orders/{order.pk}/")
    page.get_by_test_id("review-link").last.click()

    root = page.locator("[data-review]")
    expect(root).to_have_attribute("data-state", "fallback")
    expect(root).to_have_attribute("data-fallback-reason", "size")
    expect(page.locator("[data-review-status]")).to_contain_text("500")
    expect(page.get_by_test_id("no-pins")).to_be_visible()

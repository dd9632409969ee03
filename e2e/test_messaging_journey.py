"""An employer contacts a designer from a listing with an STL attached. The designer, with
her inbox open, sees the conversation arrive without reloading; with the conversation open
she sees the next message (another STL) arrive, opens its 3D preview (WebGL draws the part),
and replies; the employer, whose page stays open too, sees the reply and the "Seen" receipt."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.helpers import make_user
from e2e.helpers import new_page, sign_in
from listings.tests.helpers import make_published
from orders.demo import MOLAR, PREMOLAR, dental_stl, die

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Monolithic zirconia crown design"
FIRST = "Hello! Tooth 46, zirconia, shade A3.\nThe preparation scan is attached: is it good enough?"
SECOND = "Here is the antagonist as well."
ANSWER = "Both scans are fine. Send the case when you are ready."
LIVE = 10_000  # ms: polling runs every 3 s (conversation) and 5 s (inbox)

# How many pixels of the 3D preview differ from the pixel in its top-left corner (the
# background), read by copying the WebGL canvas (drawn with preserveDrawingBuffer) to a 2D one.
DRAWN_PIXELS = """() => {
  const canvas = document.querySelector("[data-testid=preview-canvas]");
  if (!canvas || !canvas.width || !canvas.height) { return null; }
  const copy = document.createElement("canvas");
  copy.width = canvas.width;
  copy.height = canvas.height;
  const context = copy.getContext("2d");
  context.drawImage(canvas, 0, 0);
  const data = context.getImageData(0, 0, copy.width, copy.height).data;
  const [r, g, b] = [data[0], data[1], data[2]];
  let drawn = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) > 30) { drawn += 1; }
  }
  return { drawn, total: data.length / 4 };
}"""


def stl_file(tmp_path: Path, name: str, tooth) -> Path:
    path = tmp_path / name
    path.write_bytes(dental_stl(name, [tooth], title=name).read())
    return path


def thread(page: Page):
    return page.get_by_test_id("thread")


def mark_page(page: Page) -> None:
    """Leave a mark in the page's window: it is gone if the page reloads or navigates."""
    page.evaluate("() => { window.stillTheSamePage = true; }")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("() => window.stillTheSamePage === true"), "the page was reloaded"


def test_employer_contacts_a_designer_who_sees_it_live_previews_the_stl_and_replies(page, live_server, tmp_path):
    listing = make_published(title=TITLE)
    employer = make_user()
    prep = stl_file(tmp_path, "prep-46.stl", die(MOLAR))
    antagonist = stl_file(tmp_path, "antagonist-16.stl", PREMOLAR)
    errors: list[str] = []

    designer = new_page(page.context.browser, live_server.url)
    try:
        for tab in (page, designer):
            tab.on("pageerror", lambda error: errors.append(f"page error: {error}"))
            tab.on("console", lambda message: message.type == "error" and errors.append(f"console: {message.text}"))
        sign_in(designer, listing.owner.email)
        designer.goto("/messages/")
        expect(designer.get_by_text("No messages yet.")).to_be_visible()
        mark_page(designer)

        # The employer writes from the listing page, with the preparation scan.
        sign_in(page, employer.email)
        page.goto(listing.get_absolute_url())
        page.get_by_role("link", name="Contact").click()
        page.get_by_label("Message").fill(FIRST)
        page.get_by_label("Attach files").set_input_files(prep)
        expect(page.get_by_label("Hide patient data")).to_be_checked()
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_text("Message sent to")).to_be_visible()
        expect(thread(page)).to_contain_text("The preparation scan is attached")
        expect(thread(page).get_by_role("link", name="prep-46.stl")).to_be_visible()
        expect(page.get_by_test_id("read-receipt")).to_have_text("Sent")
        mark_page(page)

        # The designer's inbox shows it without a reload, with one unread message.
        row = designer.get_by_test_id("inbox-row").filter(has_text=TITLE)
        expect(row).to_be_visible(timeout=LIVE)
        expect(row.get_by_test_id("unread-count")).to_have_text("1 unread")
        expect(designer.get_by_test_id("nav-unread")).to_have_text("1 unread")
        assert_not_reloaded(designer)
        row.click()
        expect(thread(designer)).to_contain_text("Tooth 46, zirconia, shade A3.")
        expect(thread(designer).get_by_role("link", name="prep-46.stl")).to_be_visible()
        expect(designer.get_by_test_id("nav-unread")).to_have_count(0)
        mark_page(designer)

        # The employer's open page learns that she read it.
        expect(page.get_by_test_id("read-receipt")).to_have_text("Seen", timeout=LIVE)
        assert_not_reloaded(page)

        # A second message with another STL arrives in the designer's open conversation.
        page.get_by_label("Message").fill(SECOND)
        page.get_by_label("Attach files").set_input_files(antagonist)
        page.get_by_role("button", name="Send").click()
        expect(thread(page)).to_contain_text(SECOND)
        mark_page(page)
        expect(thread(designer)).to_contain_text(SECOND, timeout=LIVE)
        expect(thread(designer).get_by_role("link", name="antagonist-16.stl")).to_be_visible()
        assert_not_reloaded(designer)

        # Its 3D preview opens from the message that just arrived, and WebGL draws the tooth.
        thread(designer).get_by_role("button", name="Preview antagonist-16.stl in 3D").click()
        dialog = designer.get_by_test_id("preview-dialog")
        expect(dialog).to_have_attribute("data-state", "ready")
        designer.wait_for_function(f"() => {{ const p = ({DRAWN_PIXELS})(); return p && p.drawn > 0; }}")
        pixels = designer.evaluate(DRAWN_PIXELS)
        assert pixels["total"] > 10_000
        assert pixels["drawn"] > pixels["total"] * 0.02, f"WebGL drew only {pixels['drawn']} of {pixels['total']}"
        dialog.get_by_role("button", name="Close").click()
        expect(dialog).to_be_hidden()

        # She replies; the employer sees the answer arrive on the page he kept open.
        designer.get_by_label("Message").fill(ANSWER)
        designer.get_by_role("button", name="Send").click()
        expect(thread(designer)).to_contain_text(ANSWER)
        expect(thread(page)).to_contain_text(ANSWER, timeout=LIVE)
        assert_not_reloaded(page)
        expect(page.get_by_test_id("read-receipt")).to_have_text("")  # the newest message is not his
    finally:
        designer.context.close()
    assert errors == []

"""The designer opens the 3D preview of an STL case file: nothing is fetched before the click,
then the canvas shows the part (WebGL drew pixels other than the background), its measured
size, and the wireframe and reset-view buttons work, without a script or CSP error."""

import struct

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from e2e.helpers import sign_in
from orders.tests.helpers import make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BACKGROUND = (241, 243, 245)  # the viewer's background colour (static/js/previews/viewer.js)

# Counts the canvas pixels that differ from the background, by copying the WebGL picture
# (kept with preserveDrawingBuffer) onto a 2D canvas.
COUNT_DRAWN_PIXELS = """([r, g, b]) => {
  const source = document.querySelector("[data-testid=preview-canvas]");
  const copy = document.createElement("canvas");
  copy.width = source.width;
  copy.height = source.height;
  const context = copy.getContext("2d");
  context.drawImage(source, 0, 0);
  const pixels = context.getImageData(0, 0, copy.width, copy.height).data;
  let drawn = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (Math.abs(pixels[i] - r) + Math.abs(pixels[i + 1] - g) + Math.abs(pixels[i + 2] - b) > 24) {
      drawn += 1;
    }
  }
  return { drawn, total: pixels.length / 4, picture: source.toDataURL() };
}"""


def crown_stl(width=8.0, depth=10.0, height=7.0) -> bytes:
    """A binary STL of a closed box the size of a molar crown, with zero normals (as many
    exporters write them), centred off the origin like a part in a jaw scan."""
    x0, y0, z0 = 20.0, -5.0, 3.0
    corners = [(x0 + dx * width, y0 + dy * depth, z0 + dz * height) for dz in (0, 1) for dy in (0, 1) for dx in (0, 1)]
    faces = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    triangles = [(a, b, c) for q in faces for a, b, c in ((q[0], q[1], q[2]), (q[0], q[2], q[3]))]
    body = b"".join(
        struct.pack("<12fH", 0, 0, 0, *corners[a], *corners[b], *corners[c], 0) for a, b, c in triangles
    )
    return b"preview crown".ljust(80, b" ") + struct.pack("<I", len(triangles)) + body


def test_the_designer_previews_an_stl_case_file_in_3d(page, live_server):
    order = make_order(files=[SimpleUploadedFile("crown-36.stl", crown_stl())])
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on("console", lambda message: message.type == "error" and errors.append(f"console: {message.text}"))
    page.on("request", lambda request: requests.append(request.url))

    sign_in(page, order.freelancer.email)
    page.goto(f"/orders/{order.pk}/")
    files = page.get_by_role("region", name="Case files")
    expect(files.get_by_role("link", name="crown-36.stl")).to_be_visible()
    assert not [url for url in requests if "inline=1" in url or "/vendor/three/" in url], "loaded before the click"

    files.get_by_role("button", name="Preview crown-36.stl in 3D").click()

    dialog = page.get_by_test_id("preview-dialog")
    expect(dialog).to_have_attribute("data-state", "ready")
    expect(dialog.get_by_role("heading", name="crown-36.stl")).to_be_visible()
    expect(page.get_by_test_id("preview-size")).to_have_text("8.0 × 10.0 × 7.0 mm · 12 triangles")  # noqa: RUF001
    assert [url for url in requests if "inline=1" in url], "the file was not fetched"
    assert [url for url in requests if url.endswith("/static/vendor/three/build/three.module.js")]

    solid = page.evaluate(COUNT_DRAWN_PIXELS, BACKGROUND)
    assert solid["total"] > 10_000
    assert solid["drawn"] > solid["total"] * 0.02, f"WebGL drew only {solid['drawn']} of {solid['total']} pixels"

    wireframe = dialog.get_by_role("button", name="Wireframe")
    wireframe.click()
    expect(wireframe).to_have_attribute("aria-pressed", "true")
    lines = page.evaluate(COUNT_DRAWN_PIXELS, BACKGROUND)
    assert 0 < lines["drawn"] < solid["drawn"] * 0.8, (lines["drawn"], solid["drawn"])
    wireframe.click()
    expect(wireframe).to_have_attribute("aria-pressed", "false")

    canvas = page.get_by_test_id("preview-canvas")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 180, box["y"] + box["height"] / 2 + 60, steps=8)
    page.mouse.up()
    turned = page.evaluate(COUNT_DRAWN_PIXELS, BACKGROUND)
    assert turned["picture"] != solid["picture"], "dragging did not turn the view"

    dialog.get_by_role("button", name="Reset view").click()
    again = page.evaluate(COUNT_DRAWN_PIXELS, BACKGROUND)
    assert abs(again["drawn"] - solid["drawn"]) <= solid["drawn"] * 0.01, (again["drawn"], solid["drawn"])

    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("preview-canvas")).to_have_count(0)
    assert errors == []


def test_a_broken_mesh_shows_a_clear_message(page, live_server):
    # Passes the upload check (a triangle count that matches the size) but holds no real coordinates.
    broken = b"broken".ljust(80, b" ") + struct.pack("<I", 1) + struct.pack("<12fH", *([float("nan")] * 12), 0)
    order = make_order(files=[SimpleUploadedFile("broken.stl", broken)])
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    sign_in(page, order.employer.email)
    page.goto(f"/orders/{order.pk}/")
    page.get_by_role("button", name="Preview broken.stl in 3D").click()

    dialog = page.get_by_test_id("preview-dialog")
    expect(dialog).to_have_attribute("data-state", "error")
    expect(page.get_by_test_id("preview-status")).to_contain_text(
        "This file could not be shown in 3D: it does not look like a valid STL file"
    )
    expect(page.get_by_test_id("preview-canvas")).to_have_count(0)
    assert errors == []


def test_with_files_on_s3_the_preview_reads_the_signed_url_through_the_same_check(page, live_server, s3):
    """The viewer fetches the download view, which redirects to a signed URL on the bucket:
    the bucket's CORS rule and the page's CSP (connect-src) must both let it through."""
    order = make_order(files=[SimpleUploadedFile("crown-36.stl", crown_stl())])
    errors: list[str] = []
    bucket_reads: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on("console", lambda message: message.type == "error" and errors.append(f"console: {message.text}"))
    page.on("request", lambda request: request.url.startswith(s3.endpoint) and bucket_reads.append(request.url))

    sign_in(page, order.freelancer.email)
    page.goto(f"/orders/{order.pk}/")
    page.get_by_role("region", name="Case files").get_by_role("button", name="Preview crown-36.stl in 3D").click()

    expect(page.get_by_test_id("preview-dialog")).to_have_attribute("data-state", "ready")
    expect(page.get_by_test_id("preview-size")).to_have_text("8.0 × 10.0 × 7.0 mm · 12 triangles")  # noqa: RUF001
    stored = order.files.get().file.name  # orders/<id>/crown-36_<random>.stl on S3
    assert [url for url in bucket_reads if f"/private/{stored}?" in url]
    assert not errors, errors

"""With files on S3 (moto's S3 server), an employer sends a case whose 11 MB STL goes from the
browser straight to the bucket in three parts, one of which fails once and is sent again, with
the progress shown; the case is sent with the upload's token, the file ends up under the
order's prefix, and the download is a signed URL on the bucket."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.tests.helpers import make_user
from e2e.helpers import sign_in, write_stl
from listings.tests.helpers import make_published
from orders.models import Order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MB = 1024 * 1024

# Keeps every upload status the page shows, across the navigation that follows the upload.
RECORD_STATUS = """
new MutationObserver(() => {
  const status = document.querySelector(".upload-status");
  if (status && status.textContent) {
    const seen = JSON.parse(sessionStorage.getItem("statuses") || "[]");
    if (seen[seen.length - 1] !== status.textContent) {
      seen.push(status.textContent);
      sessionStorage.setItem("statuses", JSON.stringify(seen));
    }
  }
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


def test_a_large_case_file_goes_straight_to_the_bucket_in_parts(page, live_server, s3, settings, tmp_path):
    settings.DIRECT_UPLOAD_PART_BYTES = 5 * MB  # S3's smallest part: 11 MB makes three
    listing = make_published(title="Full-arch titanium bar design")
    employer = make_user()
    case_file = write_stl(tmp_path, "upper-arch.stl", segments=20_000)
    assert 10 * MB < case_file.stat().st_size < 15 * MB

    bucket_requests, failed = [], []

    def flaky_second_part(route):
        request = route.request
        if request.method == "PUT" and "partNumber=2" in request.url and not failed:
            failed.append(request.url)
            route.fulfill(status=500, headers={"Access-Control-Allow-Origin": "*"}, body="try again")
            return
        route.continue_()

    page.context.add_init_script(RECORD_STATUS)
    page.on("request", lambda request: bucket_requests.append((request.method, request.url))
            if request.url.startswith(s3.endpoint) else None)
    page.route(f"{s3.endpoint}/**", flaky_second_part)
    sign_in(page, employer.email)
    page.goto(listing.get_absolute_url())
    page.get_by_role("link", name="Send Case").click()
    page.get_by_label("Case files").set_input_files(case_file)
    page.get_by_role("button", name="Review and pay").click()

    expect(page.get_by_test_id("test-mode")).to_contain_text("TEST MODE")
    statuses = page.evaluate("JSON.parse(sessionStorage.getItem('statuses') || '[]')")
    assert any("upper-arch.stl: part 1 of 3" in status for status in statuses)
    assert any("upper-arch.stl: part 3 of 3" in status for status in statuses)
    assert statuses[-1] == "Uploaded. Sending the form…"
    puts = [url for method, url in bucket_requests if method == "PUT"]
    assert len(failed) == 1 and sum("partNumber=2" in url for url in puts) == 2  # failed once, sent again
    assert len(puts) == 4

    order = Order.objects.get()
    stored = order.files.get()
    assert stored.name == "upper-arch.stl" and stored.size == case_file.stat().st_size
    assert s3.keys("private/uploads/") == []
    assert s3.read(f"private/{stored.file.name}") == case_file.read_bytes()

    page.get_by_role("button", name="Approve payment (test card)").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Waiting for the designer")
    with page.expect_download() as download:
        page.get_by_role("region", name="Case files").get_by_role("link", name="upper-arch.stl").click()
    assert Path(download.value.path()).read_bytes() == case_file.read_bytes()

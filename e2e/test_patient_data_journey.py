"""The designer opens a case whose client hid the patient data: the order page says the
exocad file comes as a copy with the patient's details blanked, and the file downloaded
from that page has none of them; the client, on the same page, is told they keep the original."""

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from e2e.helpers import new_page, sign_in
from orders.tests.helpers import make_order
from orders.tests.test_previews import CONSTRUCTION_INFO

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_designer_is_told_and_gets_the_copy_without_patient_data(page, browser, live_server):
    order = make_order(files=[SimpleUploadedFile("kowalski.constructionInfo", CONSTRUCTION_INFO)],
                       hide_patient_data=True)

    sign_in(page, order.freelancer.email)
    page.goto(f"/orders/{order.pk}/")
    files = page.get_by_role("region", name="Case files")
    expect(files.get_by_test_id("patient-copy")).to_have_text(
        "You get a copy with the patient's name, birth date, ID and the project name blanked: the sender chose "
        "to hide patient data."
    )
    assert "kowalski" not in files.inner_text().lower()  # exocad names the file after the patient
    with page.expect_download() as started:
        files.get_by_role("link", name=re.compile(r"^case-[0-9a-f]{8}\.constructionInfo$")).click()
    download = started.value
    assert re.fullmatch(r"case-[0-9a-f]{8}\.constructionInfo", download.suggested_filename)
    content = Path(download.path()).read_bytes()
    assert b"<PatientFirstName></PatientFirstName>" in content and b"Zirconia" in content
    assert b"Anna" not in content and b"Kowalski" not in content and b"1975" not in content

    client = new_page(browser, live_server.url)
    sign_in(client, order.employer.email)
    client.goto(f"/orders/{order.pk}/")
    expect(client.get_by_role("region", name="Case files").get_by_test_id("patient-copy")).to_have_text(
        "You get the original. The other party gets a copy with the patient's name, birth date, ID and the "
        "project name blanked."
    )

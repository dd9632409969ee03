"""Previews of order files: inline serving, the exocad summary and who sees the patient data."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts.tests.helpers import make_user
from cadcam.previews import inline_url, patient_data_visible, preview_kind
from listings.tests.helpers import make_published
from orders.models import Order, OrderFile
from orders.services import order_accept
from orders.tests.helpers import make_order, stl_upload

pytestmark = pytest.mark.django_db

CONSTRUCTION_INFO = b"""<?xml version="1.0" encoding="utf-8"?>
<ConstructionInfo>
  <ProjectName>Kowalski_Anna_crown</ProjectName>
  <PatientFirstName>Anna</PatientFirstName><PatientLastName>Kowalski</PatientLastName>
  <PatientBirthdate>1975-03-14</PatientBirthdate>
  <Teeth>
    <Tooth><Number>36</Number><ReconstructionType>Crown</ReconstructionType><Material>Zirconia</Material></Tooth>
    <Tooth><Number>46</Number><ReconstructionType>Abutment</ReconstructionType><Material>Titanium</Material>
      <ImplantType>Straumann BLX RB</ImplantType></Tooth>
  </Teeth>
</ConstructionInfo>"""


def construction_info_upload(name="case.constructionInfo", data=CONSTRUCTION_INFO):
    return SimpleUploadedFile(name, data)


def png_upload(name="photo.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 180, 160)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue())


def pdf_upload(name="prescription.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")


def send_case(client, employer, *, files, hide: bool | None):
    """Send a case through the form, ticking "hide patient data" or not (None: leave the field out)."""
    listing = make_published()
    client.force_login(employer)
    data = {"quantity": "1", "files": files}
    if hide:
        data["hide_patient_data"] = "on"
    response = client.post(reverse("orders:send_case", args=[listing.pk]), data)
    assert response.status_code == 302, response.content.decode()
    return Order.objects.get(employer=employer)


def summary_url(stored: OrderFile) -> str:
    return reverse("orders:file_summary", args=[stored.order_id, stored.pk])


def download_url(stored: OrderFile) -> str:
    return reverse("orders:download", args=[stored.order_id, stored.pk])


def summary_text(client, user, stored: OrderFile) -> str:
    client.force_login(user)
    response = client.get(summary_url(stored), headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


# The checkbox


def test_the_send_case_form_has_hide_patient_data_ticked_by_default(client):
    listing = make_published()
    client.force_login(make_user())

    page = client.get(reverse("orders:send_case", args=[listing.pk])).content.decode()

    assert "Hide patient data in exocad files" in page
    (checkbox,) = re.findall(r'<input[^>]*name="hide_patient_data"[^>]*>', page)
    assert 'type="checkbox"' in checkbox
    assert " checked" in checkbox


def test_the_delivery_form_has_hide_patient_data_ticked_by_default(client):
    order = make_order()
    order_accept(order=order, by=order.freelancer)
    client.force_login(order.freelancer)

    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()

    (checkbox,) = re.findall(r'<input[^>]*id="id_hide_patient_data"[^>]*>', page)
    assert 'type="checkbox"' in checkbox and 'name="hide_patient_data"' in checkbox and " checked" in checkbox
    label = '<label class="form-check-label small" for="id_hide_patient_data">Hide patient data in exocad files</label>'
    assert label in page
    assert '<div class="form-text" id="id_hide_patient_data_helptext">' in page


def test_send_case_stores_the_choice_on_each_file(client):
    ticked = send_case(client, make_user(), files=[construction_info_upload(), stl_upload()], hide=True)
    unticked = send_case(client, make_user(), files=[construction_info_upload(), stl_upload()], hide=None)

    assert [f.hide_patient_data for f in ticked.files.all()] == [True, True]
    assert [f.hide_patient_data for f in unticked.files.all()] == [False, False]


# Who sees the patient data


def test_the_freelancer_does_not_see_patient_data_the_employer_hid(client):
    employer = make_user()
    order = send_case(client, employer, files=[construction_info_upload()], hide=True)
    stored = order.files.get()

    text = summary_text(client, order.freelancer, stored)

    assert "Anna" not in text and "Kowalski" not in text and "1975-03-14" not in text
    assert "Patient data hidden by the sender." in text
    assert "Hidden (exocad project names usually name the patient)" in text
    assert "36" in text and "Crown" in text and "Zirconia" in text
    assert "Straumann BLX RB" in text


def test_the_freelancer_sees_patient_data_the_employer_did_not_hide(client):
    order = send_case(client, make_user(), files=[construction_info_upload()], hide=None)

    text = summary_text(client, order.freelancer, order.files.get())

    assert "Patient first name" in text and "Anna" in text
    assert "Kowalski_Anna_crown" in text
    assert "Patient data hidden" not in text


@pytest.mark.parametrize("hide", [True, None])
def test_the_uploader_and_staff_always_see_patient_data(client, hide):
    employer = make_user()
    order = send_case(client, employer, files=[construction_info_upload()], hide=hide)
    stored = order.files.get()

    for viewer in (employer, make_user(is_staff=True)):
        text = summary_text(client, viewer, stored)
        assert "Anna" in text and "Kowalski" in text and "1975-03-14" in text
        assert "Patient data hidden" not in text


def test_a_deliverable_hides_patient_data_from_the_employer_when_the_freelancer_ticked_it(client):
    order = make_order()
    order_accept(order=order, by=order.freelancer)
    client.force_login(order.freelancer)
    client.post(
        reverse("orders:act", args=[order.pk, "deliver"]),
        {"note": "Design attached", "files": [construction_info_upload("design.constructionInfo")],
         "hide_patient_data": "on"},
    )
    stored = order.files.get(delivery__isnull=False)

    assert stored.hide_patient_data is True
    assert "Anna" not in summary_text(client, order.employer, stored)
    assert "Anna" in summary_text(client, order.freelancer, stored)


def test_a_deliverable_shows_patient_data_to_the_employer_when_not_ticked(client):
    order = make_order()
    order_accept(order=order, by=order.freelancer)
    client.force_login(order.freelancer)
    client.post(
        reverse("orders:act", args=[order.pk, "deliver"]),
        {"note": "Design attached", "files": [construction_info_upload("design.constructionInfo")]},
    )
    stored = order.files.get(delivery__isnull=False)

    assert stored.hide_patient_data is False
    assert "Anna" in summary_text(client, order.employer, stored)


def test_patient_data_visible_rule():
    uploader, other, staff = make_user(), make_user(), make_user(is_staff=True)

    assert patient_data_visible(hidden=True, uploader_id=uploader.pk, viewer=uploader)
    assert patient_data_visible(hidden=True, uploader_id=uploader.pk, viewer=staff)
    assert not patient_data_visible(hidden=True, uploader_id=uploader.pk, viewer=other)
    assert patient_data_visible(hidden=False, uploader_id=uploader.pk, viewer=other)


# The summary view


def test_outsiders_get_404_for_the_summary_and_the_inline_download(client):
    order = make_order(files=[construction_info_upload(), stl_upload()])
    client.force_login(make_user())

    for stored in order.files.all():
        assert client.get(summary_url(stored)).status_code == 404
        assert client.get(download_url(stored) + "?inline=1").status_code == 404
        assert client.get(download_url(stored)).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client):
    order = make_order(files=[construction_info_upload()])
    stored = order.files.get()

    response = client.get(summary_url(stored))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_summary_is_a_fragment_for_htmx_and_a_page_otherwise(client):
    order = make_order(files=[construction_info_upload()])
    client.force_login(order.employer)
    stored = order.files.get()

    fragment = client.get(summary_url(stored), headers={"HX-Request": "true"}).content.decode()
    page = client.get(summary_url(stored)).content.decode()

    assert fragment.lstrip().startswith('<div class="construction-info')
    assert "<html" not in fragment
    assert "<html" in page and "Kowalski_Anna_crown" in page
    assert reverse("orders:detail", args=[order.pk]) in page


def test_only_construction_info_files_have_a_summary(client):
    order = make_order(files=[stl_upload()])
    client.force_login(order.employer)

    assert client.get(summary_url(order.files.get())).status_code == 404


def test_an_unreadable_construction_info_says_so(client):
    order = make_order(files=[construction_info_upload(data=b"<ConstructionInfo><Teeth>")])
    client.force_login(order.freelancer)

    response = client.get(summary_url(order.files.get()), headers={"HX-Request": "true"})

    assert response.status_code == 200
    # the designer sees the neutral name of the copy they would get (exocad names files after the patient)
    assert re.search(r"case-[0-9a-f]{8}\.constructionInfo could not be read: The file is not well-formed XML\.",
                     response.content.decode())


# Serving inline


@pytest.mark.parametrize(
    ("upload", "content_type"),
    [(png_upload, "image/png"), (pdf_upload, "application/pdf"), (stl_upload, "application/octet-stream"),
     (construction_info_upload, "application/octet-stream")],
)
def test_inline_download_headers(client, upload, content_type):
    order = make_order(files=[upload()])
    stored = order.files.get()
    client.force_login(order.employer)  # the sender gets the original (test_patient_data_downloads.py: the others)

    response = client.get(download_url(stored) + "?inline=1")

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'inline; filename="{stored.name}"'
    assert response["Content-Length"] == str(stored.size)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Security-Policy"] == (
        "default-src 'none'; img-src 'self'; object-src 'self'; frame-ancestors 'self'"
    )


def test_a_plain_download_stays_an_attachment_that_cannot_be_framed(client):
    order = make_order(files=[pdf_upload()])
    stored = order.files.get()
    client.force_login(order.employer)

    response = client.get(download_url(stored))

    assert response["Content-Disposition"] == f'attachment; filename="{stored.name}"'
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


# The order page


def test_the_order_page_offers_a_preview_for_each_kind_of_file(client):
    zip_upload = SimpleUploadedFile("scans.zip", b"PK\x05\x06" + b"\0" * 18)
    order = make_order(files=[stl_upload(), png_upload(), pdf_upload(), construction_info_upload(), zip_upload])
    files = {f.name: f for f in order.files.all()}
    client.force_login(order.freelancer)

    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()

    stl = files["crown.stl"]
    assert (
        f'data-preview-mesh data-preview-url="{download_url(stl)}?inline=1" data-preview-format="stl" '
        f'data-preview-name="crown.stl" data-preview-size="{stl.size}"'
    ) in page
    assert page.count('<script src="/static/js/previews/preview.js" type="module"></script>') == 1
    assert f'<img class="preview-image img-thumbnail" src="{download_url(files["photo.png"])}?inline=1"' in page
    assert f'<iframe class="preview-pdf-frame" src="{download_url(files["prescription.pdf"])}?inline=1"' in page
    assert f'hx-get="{summary_url(files["case.constructionInfo"])}"' in page
    assert f'<a href="{download_url(files["scans.zip"])}">scans.zip</a>' in page
    assert 'data-preview-kind="download"' in page
    for chunk in page.split("<script")[1:]:
        assert chunk.lstrip().startswith("src="), "inline <script> found"
    assert " style=" not in page


# The kinds


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("crown.stl", "mesh"), ("SCAN.STL", "mesh"), ("jaw.ply", "mesh"), ("model.Obj", "mesh"),
        ("photo.jpg", "image"), ("photo.JPEG", "image"), ("shade.png", "image"), ("face.webp", "image"),
        ("rx.pdf", "pdf"), ("case.constructionInfo", "construction_info"),
        ("CASE.CONSTRUCTIONINFO", "construction_info"), ("case.dentalProject", None), ("scans.zip", None),
        ("notes.docx", None), ("ct.dcm", None), ("noextension", None), ("", None),
    ],
)
def test_preview_kind(name, kind):
    assert preview_kind(name) == kind


def test_inline_url_keeps_an_existing_query():
    assert inline_url("/orders/1/files/2/") == "/orders/1/files/2/?inline=1"
    assert inline_url("/m/3/?token=a%20b") == "/m/3/?token=a+b&inline=1"
    assert inline_url("/m/3/?inline=0") == "/m/3/?inline=1"

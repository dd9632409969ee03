"""Downloads of order files when "hide patient data" is on: the other party gets an exocad
.constructionInfo with the patient fields blanked, the uploader and staff the original,
every other format goes out unchanged; the order page says which copy each viewer gets."""

import html
import re

import pytest
from django.db.models.fields.files import FieldFile
from django.urls import reverse
from django.utils.html import escape

from accounts.tests.helpers import make_user
from cadcam.construction_info import MAX_BYTES, blank_patient_data
from cadcam.previews import PATIENT_COPY_NOTES, PATIENT_DATA_HELP
from listings.tests.helpers import make_published
from orders.services import order_accept, order_deliver
from orders.tests.helpers import make_order, stl_upload
from orders.tests.test_previews import CONSTRUCTION_INFO, construction_info_upload, download_url

pytestmark = pytest.mark.django_db

PATIENT_WORDS = (b"Anna", b"Kowalski", b"1975-03-14")


def case_with(*files, hide: bool = True):
    """A requested order whose client sent `files` with "hide patient data" as given."""
    return make_order(files=list(files), hide_patient_data=hide)


def download(client, user, stored, *, inline: bool = False):
    client.force_login(user)
    response = client.get(download_url(stored) + ("?inline=1" if inline else ""))
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def stored_bytes(stored) -> bytes:
    with stored.file.open("rb") as handle:
        return handle.read()


# Who gets which copy


def test_the_other_party_downloads_a_copy_with_the_patient_data_blanked(client):
    order = case_with(construction_info_upload())
    stored = order.files.get()

    response, body = download(client, order.freelancer, stored)

    assert response.status_code == 200
    assert body == blank_patient_data(CONSTRUCTION_INFO)
    for word in PATIENT_WORDS:
        assert word not in body
    assert b"<PatientFirstName></PatientFirstName><PatientLastName></PatientLastName>" in body
    assert b"<ProjectName></ProjectName>" in body
    assert b"<Number>46</Number><ReconstructionType>Abutment</ReconstructionType>" in body
    assert b"<ImplantType>Straumann BLX RB</ImplantType>" in body
    assert re.fullmatch(r'attachment; filename="case-[0-9a-f]{8}\.constructionInfo"', response["Content-Disposition"])
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Length"] == str(len(body))
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert stored_bytes(stored) == CONSTRUCTION_INFO  # the stored file is not touched


def test_the_uploader_and_staff_download_the_original(client):
    order = case_with(construction_info_upload())
    stored = order.files.get()

    for viewer in (order.employer, make_user(is_staff=True)):
        response, body = download(client, viewer, stored)
        assert response.status_code == 200
        assert body == CONSTRUCTION_INFO
        assert response["Content-Disposition"] == 'attachment; filename="case.constructionInfo"'


def test_with_the_box_unticked_both_parties_get_the_original(client):
    order = case_with(construction_info_upload(), hide=False)
    stored = order.files.get()

    for viewer in (order.employer, order.freelancer):
        assert download(client, viewer, stored)[1] == CONSTRUCTION_INFO


def test_other_formats_go_out_unchanged_even_with_the_box_ticked(client):
    stl = stl_upload("crown-36.stl")
    order = case_with(stl, construction_info_upload(), hide=True)
    stored = order.files.get(name="crown-36.stl")

    response, body = download(client, order.freelancer, stored)

    assert body == stored_bytes(stored)
    assert response["Content-Length"] == str(stored.size)


def test_the_inline_preview_is_blanked_too(client):
    order = case_with(construction_info_upload())
    stored = order.files.get()

    response, body = download(client, order.freelancer, stored, inline=True)
    _, original = download(client, order.employer, stored, inline=True)

    assert response.status_code == 200
    assert body == blank_patient_data(CONSTRUCTION_INFO)
    assert original == CONSTRUCTION_INFO
    assert re.fullmatch(r'inline; filename="case-[0-9a-f]{8}\.constructionInfo"', response["Content-Disposition"])
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Content-Security-Policy"].startswith("default-src 'none'")


def test_a_deliverable_reaches_the_client_blanked_when_the_designer_ticked_the_box(client):
    order = make_order()
    order_accept(order=order, by=order.freelancer)
    order_deliver(order=order, by=order.freelancer, note="Design", hide_patient_data=True,
                  files=[construction_info_upload("design.constructionInfo")])
    stored = order.files.get(delivery__isnull=False)

    assert download(client, order.employer, stored)[1] == blank_patient_data(CONSTRUCTION_INFO)
    assert download(client, order.freelancer, stored)[1] == CONSTRUCTION_INFO


def test_outsiders_still_get_404(client):
    order = case_with(construction_info_upload())

    response, _ = download(client, make_user(), order.files.get())

    assert response.status_code == 404


# Files that cannot be checked are not passed on


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<ConstructionInfo><PatientName>Anna</ConstructionInfo>", "The file is not well-formed XML."),
        (b'<?xml version="1.0"?><!DOCTYPE ConstructionInfo [<!ENTITY n "Anna">]><ConstructionInfo>&n;'
         b"</ConstructionInfo>", "The file declares a DTD or entities, which exocad files never do."),
        (b"<ConstructionInfo><Pad>" + b"x" * MAX_BYTES + b"</Pad></ConstructionInfo>",
         "The file is too large to check for patient data."),
    ],
    ids=["broken", "dtd", "too-large"],
)
def test_a_file_that_cannot_be_checked_is_refused_to_the_other_party_only(client, data, reason):
    order = case_with(construction_info_upload(data=data))
    stored = order.files.get()

    response, body = download(client, order.freelancer, stored)

    assert response.status_code == 409
    page = body.decode()
    assert "case.constructionInfo was not sent" in page
    assert f"this exocad file could not be checked for it: {reason}" in page
    assert "Ask the sender to\n          upload it again" in page
    assert reverse("orders:detail", args=[order.pk]) in page
    assert "Anna" not in page
    assert response["Cache-Control"] == "private, no-store"
    assert download(client, order.employer, stored)[1] == data


def test_a_file_missing_from_storage_is_not_passed_on(client):
    order = case_with(construction_info_upload())
    stored = order.files.get()
    stored.file.storage.delete(stored.file.name)

    response, body = download(client, order.freelancer, stored)

    assert response.status_code == 409
    assert "could not be checked for it: The file could not be opened." in body.decode()


def test_a_storage_failure_asks_to_try_again(client, monkeypatch):
    order = case_with(construction_info_upload())
    stored = order.files.get()

    def storage_down(*args, **kwargs):
        raise RuntimeError("the bucket is not answering")

    monkeypatch.setattr(FieldFile, "open", storage_down)
    response, body = download(client, order.freelancer, stored)

    assert response.status_code == 503
    assert "The file could not be read from storage just now. Try again in a minute." in body.decode()


# What the pages say


def order_page(client, user, order) -> str:
    client.force_login(user)
    return client.get(reverse("orders:detail", args=[order.pk])).content.decode()


def notes(page: str) -> list[str]:
    return [html.unescape(note) for note in re.findall(r'data-testid="patient-copy">([^<]*)</div>', page)]


def test_the_order_page_says_which_copy_each_viewer_gets(client):
    order = case_with(construction_info_upload(), stl_upload())

    assert notes(order_page(client, order.freelancer, order)) == [
        "You get a copy with the patient's name, birth date, ID and the project name blanked: the sender chose to "
        "hide patient data."
    ]
    assert notes(order_page(client, order.employer, order)) == [
        "You get the original. The other party gets a copy with the patient's name, birth date, ID and the "
        "project name blanked."
    ]
    assert notes(order_page(client, make_user(is_staff=True), order)) == [PATIENT_COPY_NOTES["staff"]]


def test_the_order_page_says_both_get_the_original_when_the_box_was_unticked(client):
    order = case_with(construction_info_upload(), hide=False)

    for viewer in (order.freelancer, order.employer):
        assert notes(order_page(client, viewer, order)) == [
            "Patient data is not hidden: both parties get the original file."
        ]


def test_the_upload_forms_say_what_is_blanked_and_what_is_passed_on_unchanged(client):
    order = make_order()
    order_accept(order=order, by=order.freelancer)
    client.force_login(make_user())
    send_case = client.get(reverse("orders:send_case", args=[make_published().pk])).content.decode()
    delivery = order_page(client, order.freelancer, order)

    expected = escape(PATIENT_DATA_HELP)
    assert f'<div class="form-text" id="id_hide_patient_data_helptext">{expected}</div>' in delivery
    assert f'<div id="id_hide_patient_data_helptext" class="form-text">{PATIENT_DATA_HELP}</div>' in send_case
    assert PATIENT_DATA_HELP == (
        "exocad .constructionInfo files reach the other party with the patient's name, birth date, ID and the "
        "project name blanked, in the file and in its summary; you and our staff keep the original. Other files "
        "(STL, PLY, OBJ, DICOM, images, PDF, ZIP...) are passed on unchanged: remove patient details from them "
        "before uploading."
    )

"""Attachment downloads when "hide patient data" is on: the other people in a conversation
get an exocad .constructionInfo with the patient fields blanked, the sender and staff the
original, other formats unchanged; the thread and the upload forms say so."""

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from accounts.tests.helpers import make_user
from cadcam.construction_info import blank_patient_data
from cadcam.previews import PATIENT_COPY_NOTES, PATIENT_DATA_HELP
from messaging.models import Attachment
from messaging.services import message_send, support_request_open
from messaging.tests.helpers import make_direct, stl_upload
from orders.services import order_accept
from orders.tests.helpers import make_order

pytestmark = pytest.mark.django_db

CONSTRUCTION_INFO = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<ConstructionInfo><ProjectName>Smith_John</ProjectName>'
    b"<PatientFirstName>John</PatientFirstName><PatientLastName>Smith</PatientLastName>"
    b"<Teeth><Tooth><Number>36</Number><ReconstructionType>Crown</ReconstructionType>"
    b"<Material>Zirconia</Material></Tooth></Teeth></ConstructionInfo>"
)
BLANKED = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<ConstructionInfo><ProjectName></ProjectName>'
    b"<PatientFirstName></PatientFirstName><PatientLastName></PatientLastName>"
    b"<Teeth><Tooth><Number>36</Number><ReconstructionType>Crown</ReconstructionType>"
    b"<Material>Zirconia</Material></Tooth></Teeth></ConstructionInfo>"
)


def exocad_upload(name="case.constructionInfo", data=CONSTRUCTION_INFO):
    return SimpleUploadedFile(name, data)


def fetch(client, user, attachment, *, inline=False):
    client.force_login(user)
    url = reverse("messaging:download", args=[attachment.message.conversation_id, attachment.pk])
    response = client.get(url + ("?inline=1" if inline else ""))
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def sent_in_direct(*, hide: bool, files=None):
    conversation, sender, recipient = make_direct()
    message_send(conversation=conversation, sender=sender, body="Project file", hide_patient_data=hide,
                 files=files or [exocad_upload()])
    return conversation, sender, recipient


def test_the_blanked_copy_is_exactly_the_file_without_its_patient_fields():
    assert blank_patient_data(CONSTRUCTION_INFO) == BLANKED


def test_the_recipient_gets_the_blanked_copy_and_the_sender_the_original(client):
    _, sender, recipient = sent_in_direct(hide=True)
    attachment = Attachment.objects.get()

    response, body = fetch(client, recipient, attachment)
    assert response.status_code == 200
    assert body == BLANKED
    assert re.fullmatch(r'attachment; filename="case-[0-9a-f]{8}\.constructionInfo"', response["Content-Disposition"])
    assert response["Cache-Control"] == "private, no-store"

    assert fetch(client, sender, attachment)[1] == CONSTRUCTION_INFO
    assert fetch(client, recipient, attachment, inline=True)[1] == BLANKED  # no inline type: still the copy


def test_unticked_the_recipient_gets_the_original(client):
    _, _, recipient = sent_in_direct(hide=False)

    assert fetch(client, recipient, Attachment.objects.get())[1] == CONSTRUCTION_INFO


def test_other_formats_reach_the_recipient_unchanged(client):
    _, _, recipient = sent_in_direct(hide=True, files=[stl_upload("prep-46.stl")])
    attachment = Attachment.objects.get()

    response, body = fetch(client, recipient, attachment)

    assert body == stl_upload("prep-46.stl").read()
    assert response["Content-Length"] == str(attachment.size)


def test_support_staff_get_the_original(client):
    user = make_user()
    support_request_open(user=user, body="Can you check this file?", files=[exocad_upload()], hide_patient_data=True)

    assert fetch(client, make_user(is_staff=True), Attachment.objects.get())[1] == CONSTRUCTION_INFO


def test_a_broken_attachment_is_not_passed_on_to_the_recipient(client):
    broken = b"<ConstructionInfo><PatientName>John Smith</ConstructionInfo>"
    conversation, sender, recipient = sent_in_direct(hide=True, files=[exocad_upload(data=broken)])
    attachment = Attachment.objects.get()

    response, body = fetch(client, recipient, attachment)

    assert response.status_code == 409
    assert "could not be checked for it: The file is not well-formed XML." in body.decode()
    assert "John" not in body.decode()
    assert reverse("messaging:conversation", args=[conversation.pk]) in body.decode()
    assert fetch(client, sender, attachment)[1] == broken


# What the pages say


def copy_notes(page: str) -> list[str]:
    return [html.unescape(note) for note in re.findall(r'data-testid="patient-copy">([^<]*)</div>', page)]


def test_the_thread_says_which_copy_each_side_gets(client):
    conversation, sender, recipient = sent_in_direct(hide=True)
    url = reverse("messaging:conversation", args=[conversation.pk])

    client.force_login(recipient)
    assert copy_notes(client.get(url).content.decode()) == [PATIENT_COPY_NOTES["blanked"]]
    client.force_login(sender)
    assert copy_notes(client.get(url).content.decode()) == [PATIENT_COPY_NOTES["sender"]]


def test_the_order_thread_says_it_too(client):
    order = make_order()
    order_accept(order=order, by=order.freelancer)
    client.force_login(order.employer)
    client.post(reverse("messaging:order_send", args=[order.pk]),
                {"body": "The project file", "files": [exocad_upload()], "hide_patient_data": "on"})

    client.force_login(order.freelancer)
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()

    assert copy_notes(page) == [PATIENT_COPY_NOTES["blanked"]]


def test_a_support_thread_has_no_note(client):
    user = make_user()
    message = support_request_open(user=user, body="Please check", files=[exocad_upload()])
    client.force_login(user)

    page = client.get(message.conversation.get_absolute_url(), follow=True).content.decode()

    assert "case.constructionInfo" in page
    assert copy_notes(page) == []


def test_the_message_form_explains_the_box(client):
    conversation, sender, _ = make_direct()
    client.force_login(sender)

    thread = client.get(reverse("messaging:conversation", args=[conversation.pk])).content.decode()

    assert 'aria-describedby="message_hide_patient_data-help">' in thread
    help_text = escape(PATIENT_DATA_HELP)
    assert f'<div class="form-text mt-0" id="message_hide_patient_data-help">{help_text}</div>' in thread

"""What an outside review of issue 18's work found (role-aware pages, the private-offer picker,
patient data in downloads), each fixed: the patient's name in a file name, attributes and
repeated project names that escaped the blanking, unpaid orders counted as contacts, and the
Start selling steps that did not say what was waiting."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.tests.helpers import make_pending_request, make_user
from cadcam.construction_info import PatientDataUnchecked, blank_patient_data, parse_construction_info
from listings.tests.helpers import make_verified_seller
from messaging.models import Attachment
from messaging.services import message_send
from messaging.tests.helpers import make_direct
from orders.models import Order
from orders.services import order_expire
from orders.tests.helpers import make_order
from payouts.services import payout_account_start

CONSTRUCTION_INFO = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<ConstructionInfo><ProjectName>Smith_John</ProjectName>'
    b"<PatientFirstName>John</PatientFirstName><PatientLastName>Smith</PatientLastName>"
    b"<Teeth><Tooth><Number>36</Number><ReconstructionType>Crown</ReconstructionType>"
    b"<Material>Zirconia</Material></Tooth></Teeth></ConstructionInfo>"
)


def _download(client, user, attachment):
    client.force_login(user)
    url = reverse("messaging:download", args=[attachment.message.conversation_id, attachment.pk])
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def _sent_hidden(upload):
    conversation, sender, recipient = make_direct()
    message_send(conversation=conversation, sender=sender, body="The project", hide_patient_data=True,
                 files=[upload])
    return Attachment.objects.get(), sender, recipient


# --- 7. patient data in .constructionInfo downloads ---------------------------------------------------


def test_blanking_empties_every_attribute_the_summary_calls_patient_data():
    """An attribute in a namespace of its own on a <Patient> element (`p:type`, and the same for
    `xsi:type`/`*:nil`) is listed by the summary as patient data but kept in the "blanked" copy:
    `_SCHEMA_ATTRIBUTES` is skipped for any prefix, not only the XML Schema instance namespace."""
    data = b'<ConstructionInfo xmlns:p="urn:lab"><Patient p:type="Anna Smith"/></ConstructionInfo>'
    summary = parse_construction_info(data)
    assert [field.value for field in summary.patient] == ["Anna Smith"]  # the summary hides it...

    assert b"Anna Smith" not in blank_patient_data(data)  # ...the copy must not carry it either


def test_the_project_name_is_blanked_wherever_exocad_repeats_it():
    """The project name is blanked because it names the patient, but exocad repeats it in the
    paths of the project's files; the copy keeps those paths, so the name is still there."""
    data = (
        b"<ConstructionInfo><ProjectName>Smith_John</ProjectName>"
        b"<ScanFile>C:\\exocad\\Projects\\Smith_John\\Smith_John-upper.stl</ScanFile>"
        b'<Project ProjectName="Smith_John"/></ConstructionInfo>'
    )
    try:
        blanked = blank_patient_data(data)
    except PatientDataUnchecked:
        return  # refusing the file is a safe answer too
    assert b"Smith_John" not in blanked


@pytest.mark.django_db
def test_the_other_party_does_not_get_the_patient_named_in_the_file_name(client):
    """exocad names the .constructionInfo after its project (`Smith_John.constructionInfo`), the
    very name the copy blanks inside the file; the download (Content-Disposition) and the thread
    still give the original file name to the party who may not see the patient data."""
    attachment, _sender, recipient = _sent_hidden(SimpleUploadedFile("Smith_John.constructionInfo",
                                                                   CONSTRUCTION_INFO))
    response, body = _download(client, recipient, attachment)

    assert response.status_code == 200
    assert b"<PatientFirstName>John" not in body  # the content is blanked...
    assert "Smith_John" not in response["Content-Disposition"]  # ...but the name is not
    page = client.get(reverse("messaging:conversation", args=[attachment.message.conversation_id]))
    assert "Smith_John" not in page.content.decode()


# --- 3. private offers: whom the picker offers -------------------------------------------------------


@pytest.mark.django_db
def test_an_order_never_paid_does_not_make_its_client_a_contact(client):
    """Contacts from orders are meant to count "once it was paid for" (listings/contacts.py,
    orders.selectors.order_partner_ids), but only `pending_payment` is excluded: when the
    unpaid order is dropped after an hour it becomes `expired`, and the person who never paid
    turns into a contact the designer can find by name and offer private listings to."""
    order = make_order(authorized=False, employer=make_user(username="neverpaid"))
    order_expire(order=order, now=timezone.now() + timedelta(hours=2))
    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED and order.authorized_at is None

    client.force_login(order.freelancer)
    found = client.get(reverse("listings:recipient_search"), {"q": "neverpaid"}).content.decode()

    assert f'value="{order.employer.pk}"' not in found


# --- 1. Start selling: where each step stands --------------------------------------------------------


def _steps(page: str) -> list[str]:
    return page.split('data-testid="selling-step"')[1:]


@pytest.mark.django_db
def test_start_selling_says_a_verification_request_is_waiting_for_staff(client):
    """The page promises "where each stands", but a newcomer who already sent their ID
    document is shown the same "Verify your identity" button as someone who never did (and
    following it only says a request is pending)."""
    user = make_user()
    make_pending_request(user)
    client.force_login(user)

    verify = _steps(client.get(reverse("start_selling")).content.decode())[1]

    assert "Verify your identity" in verify
    assert re.search(r"waiting|pending|being checked|in review|under review", verify, re.I)


@pytest.mark.django_db
def test_start_selling_says_payout_set_up_was_started(client):
    """Someone who opened their payout account but has not finished Stripe's onboarding sees
    "Set up payouts" as if nothing had been done (no "continue"/"finish" state)."""
    user = make_verified_seller()
    payout_account_start(user=user, country="US")
    client.force_login(user)

    payouts = _steps(client.get(reverse("start_selling")).content.decode())[3]

    assert "Done" not in payouts
    assert re.search(r"continue|finish|started|in progress", payouts, re.I)

import os
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import DocumentAccess, Profile, VerificationRequest
from accounts.services import (
    verification_approve,
    verification_documents_purge,
    verification_reject,
    verification_request_create,
)
from accounts.tasks import purge_id_documents
from accounts.tests.helpers import (
    make_complete_profile,
    make_pending_request,
    make_user,
    make_view_only_staff,
    pdf_upload,
    sign_in_with_mfa,
)
from cadcam.errors import ApplicationError, InvalidTransition

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return make_user(is_staff=True)


def test_an_incomplete_profile_cannot_ask_for_verification():
    user = make_user()

    with pytest.raises(ApplicationError, match=r"Complete your profile before asking for verification\. Missing: "):
        verification_request_create(user=user, document_type="passport", document=pdf_upload())

    assert not VerificationRequest.objects.exists()


def test_request_stores_the_document_privately_with_its_fingerprint():
    request = make_pending_request(make_user())

    assert request.status == VerificationRequest.Status.PENDING
    assert len(request.document_sha256) == 64
    assert request.document.storage.location.endswith("private")
    assert "/media/" not in request.document.path


def test_a_second_pending_request_is_refused():
    user = make_user()
    make_pending_request(user)

    with pytest.raises(ApplicationError, match=r"You already have a verification request waiting for review\."):
        verification_request_create(user=user, document_type="passport", document=pdf_upload())

    assert VerificationRequest.objects.filter(user=user).count() == 1


def test_approval_verifies_the_profile_and_emails_the_user(staff, django_capture_on_commit_callbacks):
    request = make_pending_request(make_user(email="elena@example.com"))

    with django_capture_on_commit_callbacks(execute=True):
        verification_approve(request=request, by=staff)

    request.refresh_from_db()
    assert request.status == VerificationRequest.Status.APPROVED
    assert request.decided_by == staff
    assert Profile.objects.get(user=request.user).is_verified
    assert [message.to for message in mail.outbox] == [["elena@example.com"]]
    assert mail.outbox[0].subject == "[CadCam Masters] Your identity is verified"
    assert mail.outbox[0].alternatives[0][1] == "text/html"


def test_rejection_keeps_the_reason_emails_it_and_allows_a_new_request(staff, django_capture_on_commit_callbacks):
    user = make_user(email="jan@example.com")
    request = make_pending_request(user)

    with django_capture_on_commit_callbacks(execute=True):
        verification_reject(request=request, by=staff, reason="The photo of the passport is blurred.")

    request.refresh_from_db()
    assert request.status == VerificationRequest.Status.REJECTED
    assert request.rejection_reason == "The photo of the passport is blurred."
    assert "The photo of the passport is blurred." in mail.outbox[0].body
    assert not Profile.objects.get(user=user).is_verified
    again = verification_request_create(user=user, document_type="passport", document=pdf_upload())
    assert again.status == VerificationRequest.Status.PENDING


def test_rejection_needs_a_reason(staff):
    request = make_pending_request(make_user())

    with pytest.raises(ApplicationError, match=r"Give the reason"):
        verification_reject(request=request, by=staff, reason="   ")

    request.refresh_from_db()
    assert request.status == VerificationRequest.Status.PENDING


def test_a_decided_request_cannot_be_decided_again(staff):
    request = make_pending_request(make_user())
    verification_approve(request=request, by=staff)

    with pytest.raises(InvalidTransition, match=r"This request was already approved\."):
        verification_reject(request=request, by=staff, reason="Oops")


@pytest.mark.parametrize(
    "shared",
    [{"phone": "+4930901820", "vat_number": "811907980"}, {"phone": "+4930901999", "vat_number": "136695976"}],
    ids=["same phone", "same VAT"],
)
def test_approving_a_duplicate_of_a_verified_profile_is_refused(staff, shared):
    first = make_pending_request(make_user())
    verification_approve(request=first, by=staff)
    second = make_pending_request(make_user(), **shared)

    with pytest.raises(ApplicationError, match=r"Cannot approve: another verified profile has the same phone or VAT"):
        verification_approve(request=second, by=staff)

    second.refresh_from_db()
    assert second.status == VerificationRequest.Status.PENDING
    assert not Profile.objects.get(user=second.user).is_verified


def test_the_database_refuses_two_verified_profiles_with_one_phone(staff):
    """The rule holds even if two approvals race past the check: a partial unique index."""
    first = make_pending_request(make_user())
    verification_approve(request=first, by=staff)
    second = make_pending_request(make_user(), vat_number="811907980")
    profile = Profile.objects.get(user=second.user)
    profile.verified_at = timezone.now()

    from accounts.services import _save_checking_uniqueness

    with pytest.raises(ApplicationError, match=r"Another verified profile already uses this phone or VAT number\."):
        _save_checking_uniqueness(profile, fields=["verified_at"])


# --- the ID document: its owner on the site, staff in the admin (recorded) -----------------


def test_id_document_is_served_on_the_site_to_its_owner_only(client, staff):
    owner = make_user()
    request = make_pending_request(owner)
    url = reverse("accounts:verification_document", args=[request.pk])

    assert client.get(url).status_code == 302  # anonymous: sign in first
    client.force_login(make_user())
    assert client.get(url).status_code == 404
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert response["Cache-Control"] == "private, no-store"
    client.force_login(staff)
    assert client.get(url).status_code == 404  # staff open it in the admin, where it is recorded
    assert not DocumentAccess.objects.exists()


def test_staff_open_the_document_in_the_admin_and_each_opening_is_recorded(client, staff, settings):
    settings.ADMIN_REQUIRES_MFA = True
    request = make_pending_request(make_user())
    url = reverse("admin:accounts_verificationrequest_document", args=[request.pk])
    sign_in_with_mfa(client, staff)

    change_page = client.get(reverse("admin:accounts_verificationrequest_change", args=[request.pk]))
    response = client.get(url)

    assert f'href="{url}"' in change_page.content.decode()
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert "sandbox" in response["Content-Security-Policy"]
    access = DocumentAccess.objects.get()
    assert (access.request, access.viewed_by) == (request, staff)
    listed = client.get(reverse("admin:accounts_verificationrequest_change", args=[request.pk])).content.decode()
    assert "ID document opened by" in listed and staff.email in listed


def test_staff_without_the_second_factor_cannot_open_a_document(client, staff, settings):
    settings.ADMIN_REQUIRES_MFA = True
    request = make_pending_request(make_user())
    client.force_login(staff)  # the password alone

    response = client.get(reverse("admin:accounts_verificationrequest_document", args=[request.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("staff_enrol")
    assert not DocumentAccess.objects.exists()


def test_staff_without_view_permission_on_requests_cannot_open_a_document(client):
    request = make_pending_request(make_user())
    client.force_login(make_view_only_staff("order"))

    response = client.get(reverse("admin:accounts_verificationrequest_document", args=[request.pk]))

    assert response.status_code == 403
    assert not DocumentAccess.objects.exists()


def test_unknown_document_id_is_404_for_staff_too(client, staff):
    client.force_login(staff)

    assert client.get(reverse("admin:accounts_verificationrequest_document", args=[999999])).status_code == 404


# --- purge after 30 days ----------------------------------------------------------------


def test_documents_are_deleted_30_days_after_the_decision_keeping_the_fingerprint(staff):
    old = make_pending_request(make_user())
    recent = make_pending_request(make_user(), phone="+4930901999", vat_number="811907980")
    with time_machine.travel(timezone.now() - timedelta(days=31)):
        verification_reject(request=old, by=staff, reason="Blurred")
    with time_machine.travel(timezone.now() - timedelta(days=29)):
        verification_approve(request=recent, by=staff)
    old.refresh_from_db()
    path = old.document.path
    fingerprint = old.document_sha256

    assert purge_id_documents.delay().get() == 1

    old.refresh_from_db()
    recent.refresh_from_db()
    assert not old.document
    assert old.document_deleted_at is not None
    assert old.document_sha256 == fingerprint
    assert old.decided_by == staff
    assert not os.path.exists(path)
    assert recent.document
    assert verification_documents_purge() == 0  # running again changes nothing


def test_purged_document_is_404(client, staff):
    request = make_pending_request(make_user())
    with time_machine.travel(timezone.now() - timedelta(days=40)):
        verification_reject(request=request, by=staff, reason="Blurred")
    verification_documents_purge()
    client.force_login(staff)

    assert client.get(reverse("admin:accounts_verificationrequest_document", args=[request.pk])).status_code == 404


# --- the user's page ----------------------------------------------------------------------


def test_verification_page_refuses_bad_documents_with_a_message(client):
    user = make_user()
    make_complete_profile(user)
    client.force_login(user)
    url = reverse("accounts:verification")
    cases = [
        (
            SimpleUploadedFile("id.docx", b"PK\x03\x04"),
            "id.docx is not an accepted file type. Accepted types: JPEG, JPG, PDF, PNG.",
        ),
        (SimpleUploadedFile("id.pdf", b"MZ not a pdf"), "The content of id.pdf does not match its file type."),
        (SimpleUploadedFile("id.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024)), "the limit is 10.0\xa0MB."),
    ]
    for document, message in cases:
        response = client.post(url, {"document_type": "passport", "document": document})
        assert response.status_code == 200
        assert any(message in error for error in response.context["form"].errors["document"])
    assert not VerificationRequest.objects.exists()


def test_verification_page_shows_state_and_rejection_reason(client, staff):
    user = make_user()
    request = make_pending_request(user)
    client.force_login(user)

    assert "Waiting for review." in client.get(reverse("accounts:verification")).content.decode()

    verification_reject(request=request, by=staff, reason="Name does not match the profile.")
    body = client.get(reverse("accounts:verification")).content.decode()
    assert "Your last request was not approved." in body
    assert "Name does not match the profile." in body
    assert "Send your ID document" in body


def test_verification_page_from_an_incomplete_profile_points_to_the_profile(client):
    client.force_login(make_user())

    body = client.get(reverse("accounts:verification")).content.decode()

    assert "Complete your" in body
    assert "Send your ID document" not in body


def test_posting_a_document_from_an_incomplete_profile_is_refused_with_a_message(client):
    user = make_user()
    client.force_login(user)

    response = client.post(reverse("accounts:verification"), {"document_type": "passport", "document": pdf_upload()})

    assert "Complete your profile before asking for verification." in response.content.decode()
    assert not VerificationRequest.objects.exists()


def test_sending_a_document_creates_the_request(client):
    user = make_user()
    make_complete_profile(user)
    client.force_login(user)

    response = client.post(
        reverse("accounts:verification"), {"document_type": "driving_licence", "document": pdf_upload()}, follow=True
    )

    assert "Your document is with our team" in response.content.decode()
    assert VerificationRequest.objects.get(user=user).document_type == "driving_licence"


def test_the_document_type_offers_three_real_kinds_and_none_is_ticked(client):
    user = make_user()
    make_complete_profile(user)
    client.force_login(user)

    body = client.get(reverse("accounts:verification")).content.decode()

    radios = [tag for tag in re.findall(r"<input[^>]*>", body) if 'name="document_type"' in tag]
    assert [re.search(r'value="([^"]*)"', radio).group(1) for radio in radios] == [
        "passport", "driving_licence", "business_proof"]
    assert not any("checked" in radio for radio in radios)
    assert "---------" not in body


@pytest.mark.parametrize("document_type, message", [
    ("", "Choose which kind of document you are sending."),
    ("selfie", "Choose one of the kinds of document listed."),
])
def test_a_missing_or_tampered_document_type_is_refused_and_stores_nothing(client, document_type, message):
    user = make_user()
    make_complete_profile(user)
    client.force_login(user)

    response = client.post(reverse("accounts:verification"), {"document_type": document_type, "document": pdf_upload()})

    assert response.status_code == 200
    assert response.context["form"].errors["document_type"] == [message]
    assert message in response.content.decode()
    assert not VerificationRequest.objects.exists()

import json
import os

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.urls import reverse

from accounts.models import Profile, User, VerificationRequest
from accounts.services import user_reinstate, user_suspend, verification_approve
from accounts.tests.helpers import PASSWORD, make_complete_profile, make_pending_request, make_user
from cadcam.errors import ApplicationError, InvalidTransition

pytestmark = pytest.mark.django_db


def log_in(client, email):
    return client.post(reverse("account_login"), {"login": email, "password": PASSWORD})


# --- sign-up records the terms ------------------------------------------------------------


def test_sign_up_requires_and_records_the_terms(client):
    data = {"email": "lab@example.com", "username": "lab", "password1": PASSWORD, "password2": PASSWORD}

    refused = client.post(reverse("account_signup"), data)

    assert "You need to accept the Terms of Service to create an account." in refused.content.decode()
    assert not User.objects.exists()
    client.post(reverse("account_signup"), {**data, "accept_terms": "on"})
    profile = Profile.objects.get(user__email="lab@example.com")
    assert profile.terms_version == settings.TERMS_VERSION
    assert profile.terms_accepted_at is not None


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pages:how_it_works", "How it works"),
        ("pages:faq", "FAQ"),
        ("pages:terms", f"Version {settings.TERMS_VERSION}"),
        ("pages:privacy", "Privacy"),
    ],
)
def test_content_pages_render_and_are_linked_from_the_footer(client, name, text):
    response = client.get(reverse(name))

    assert response.status_code == 200
    assert text in response.content.decode()
    assert f'href="{reverse(name)}"' in client.get("/").content.decode()


# --- public profile -----------------------------------------------------------------------


# --- suspension ---------------------------------------------------------------------------


def test_a_suspended_user_cannot_sign_in_and_disappears(client):
    staff = make_user(is_staff=True)
    user = make_user(email="bad@example.com", username="bad")

    user_suspend(user=user, by=staff, reason="Asked for payment outside the platform.")

    response = log_in(client, "bad@example.com")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_inactive")
    assert not client.get("/").context["user"].is_authenticated
    assert client.get(reverse("public_profile", args=["bad"])).status_code == 404
    user.refresh_from_db()
    assert user.is_suspended
    assert user.suspension_reason == "Asked for payment outside the platform."


def test_suspension_ends_open_sessions(client):
    user = make_user()
    client.force_login(user)

    user_suspend(user=user, by=make_user(is_staff=True), reason="Fraud")

    assert client.get(reverse("accounts:profile")).status_code == 302


def test_reinstated_user_signs_in_again(client):
    staff = make_user(is_staff=True)
    user = make_user(email="back@example.com")
    user_suspend(user=user, by=staff, reason="Checking")

    user_reinstate(user=user, by=staff)

    assert log_in(client, "back@example.com")["Location"] == "/"
    with pytest.raises(InvalidTransition, match=r"is not suspended"):
        user_reinstate(user=user, by=staff)


def test_staff_cannot_suspend_themselves():
    staff = make_user(is_staff=True)

    with pytest.raises(ApplicationError, match=r"You cannot suspend your own account\."):
        user_suspend(user=staff, by=staff, reason="test")


def test_admin_suspend_action_asks_for_a_reason_then_calls_the_service(client):
    staff = make_user(is_staff=True)
    user = make_user()
    client.force_login(staff)
    url = reverse("admin:accounts_user_changelist")

    form_page = client.post(url, {"action": "suspend_users", "_selected_action": [user.pk]})
    assert "Suspend users" in form_page.content.decode()
    user.refresh_from_db()
    assert not user.is_suspended

    client.post(url, {"action": "suspend_users", "_selected_action": [user.pk], "apply": "1", "reason": "Spam"})
    user.refresh_from_db()
    assert user.is_suspended
    assert user.suspension_reason == "Spam"


# --- deletion and export ------------------------------------------------------------------


def test_deleting_the_account_needs_the_password(client):
    user = make_user()
    client.force_login(user)

    response = client.post(reverse("accounts:delete"), {"password": "wrong"})

    assert "The password is not correct." in response.content.decode()
    user.refresh_from_db()
    assert user.deleted_at is None


def test_deleting_the_account_erases_personal_data_and_files(client, django_capture_on_commit_callbacks):
    user = make_user(email="gone@example.com", username="gone")
    request = make_pending_request(user)
    photo_path = Profile.objects.get(user=user).photo.path
    document_path = request.document.path
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:delete"), {"password": PASSWORD}, follow=True)

    assert "Your account is deleted." in response.content.decode()
    assert not response.context["user"].is_authenticated
    user.refresh_from_db()
    assert user.deleted_at is not None
    assert user.email == f"deleted-{user.pk}@deleted.invalid"
    assert user.display_name == "deleted user"
    assert not user.has_usable_password()
    assert not Profile.objects.filter(user=user).exists()
    assert not EmailAddress.objects.filter(user=user).exists()
    request.refresh_from_db()
    assert not request.document
    assert request.document_sha256  # the fingerprint of the decision record stays
    assert not os.path.exists(photo_path)
    assert not os.path.exists(document_path)
    assert log_in(client, "gone@example.com").status_code == 200
    assert client.get(reverse("public_profile", args=["gone"])).status_code == 404


def test_data_export_is_the_users_own_data_as_json(client):
    user = make_user(email="me@example.com")
    make_complete_profile(user)
    make_user(email="someone-else@example.com")
    client.force_login(user)

    response = client.get(reverse("accounts:export"))

    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="cadcam-masters-data-')
    data = json.loads(response.content)
    assert data["account"]["email"] == "me@example.com"
    assert data["profile"]["vat_number"] == "136695976"
    assert data["profile"]["languages"] == ["English"]
    assert data["listings"] == []
    assert "someone-else" not in response.content.decode()


# --- the staff queue ----------------------------------------------------------------------


def test_admin_queue_lists_pending_first_oldest_first(client):
    staff = make_user(is_staff=True)
    first = make_pending_request(make_user(), phone="+4930901001", vat_number="811907980")
    decided = make_pending_request(make_user(), phone="+4930901002", vat_number="136695976")
    verification_approve(request=decided, by=staff)
    second = make_pending_request(make_user(), phone="+4930901003", vat_number="129273398")
    client.force_login(staff)

    response = client.get(reverse("admin:accounts_verificationrequest_changelist"))

    ids = [obj.pk for obj in response.context["cl"].result_list]
    assert ids == [first.pk, second.pk, decided.pk]


def test_admin_approve_button_calls_the_service_and_moves_to_the_next_request(client):
    staff = make_user(is_staff=True)
    request = make_pending_request(make_user(), phone="+4930901001", vat_number="811907980")
    following = make_pending_request(make_user(), phone="+4930901002", vat_number="136695976")
    client.force_login(staff)
    page = client.get(reverse("admin:accounts_verificationrequest_change", args=[request.pk])).content.decode()
    assert "Possible duplicates" in page
    assert 'value="Approve"' in page

    response = client.post(reverse("admin:accounts_verificationrequest_approve", args=[request.pk]))

    assert response["Location"] == reverse("admin:accounts_verificationrequest_change", args=[following.pk])
    request.refresh_from_db()
    assert request.status == VerificationRequest.Status.APPROVED


def test_admin_shows_duplicates_and_refuses_to_approve_one(client):
    staff = make_user(is_staff=True)
    verification_approve(request=make_pending_request(make_user(email="first@example.com")), by=staff)
    duplicate = make_pending_request(make_user(), vat_number="811907980")  # same phone as the first
    client.force_login(staff)

    page = client.get(reverse("admin:accounts_verificationrequest_change", args=[duplicate.pk])).content.decode()
    assert "first@example.com" in page
    response = client.post(reverse("admin:accounts_verificationrequest_approve", args=[duplicate.pk]), follow=True)

    assert "Cannot approve: another verified profile has the same phone or VAT number" in response.content.decode()
    duplicate.refresh_from_db()
    assert duplicate.status == VerificationRequest.Status.PENDING


def test_admin_reject_needs_a_reason(client):
    staff = make_user(is_staff=True)
    request = make_pending_request(make_user())
    client.force_login(staff)

    url = reverse("admin:accounts_verificationrequest_reject", args=[request.pk])
    response = client.post(url, {"reason": ""}, follow=True)

    assert "Give the reason for the rejection" in response.content.decode()
    request.refresh_from_db()
    assert request.status == VerificationRequest.Status.PENDING

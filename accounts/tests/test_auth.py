import re
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    TOTP,
    generate_totp_secret,
)
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.tests.helpers import sign_in_with_mfa, totp_code
from cadcam.staff import enrolment_token

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-Secret-phrase-42"


def sign_up(client, email="lab@example.com", username="brightlab"):
    return client.post(
        reverse("account_signup"),
        {"email": email, "username": username, "password1": PASSWORD, "password2": PASSWORD, "accept_terms": "on"},
    )


def test_sign_up_sends_a_verification_email_with_text_and_html(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["lab@example.com"]
    assert message.subject.startswith("[CadCam Masters]")
    assert "/accounts/confirm-email/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "CadCam Masters" in html
    assert '<a href="http://' in html


def test_verify_then_log_in(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client)
    confirm_url = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", mail.outbox[0].body).group(1)
    client.logout()

    response = client.post(confirm_url)

    assert response.status_code == 302
    assert EmailAddress.objects.get(email="lab@example.com").verified
    client.logout()
    response = client.post(reverse("account_login"), {"login": "lab@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").context["user"].email == "lab@example.com"


def test_unverified_user_is_told_to_verify(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client)
    client.logout()

    response = client.post(
        reverse("account_login"), {"login": "lab@example.com", "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("account_email_verification_sent")
    assert "Verify Your Email Address" in response.content.decode()
    assert not response.context["user"].is_authenticated


def test_signing_up_again_with_a_known_email_creates_nothing_and_tells_the_owner(
    client, django_capture_on_commit_callbacks
):
    sign_up(client, email="lab@example.com", username="first")
    client.logout()
    mail.outbox.clear()
    cache.clear()  # allauth allows one verification-type e-mail per address per 3 minutes

    # The page does not reveal whether the address is known (no account enumeration)...
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up(client, email="LAB@example.com", username="second")

    assert response.status_code == 302
    assert User.objects.count() == 1
    # ...the owner of the address is told by e-mail instead.
    assert len(mail.outbox) == 1
    assert "already" in mail.outbox[0].subject.lower()


def test_login_failures_are_rate_limited(client):
    User.objects.create_user(email="lab@example.com", username="lab", password=PASSWORD)

    for _ in range(5):
        client.post(reverse("account_login"), {"login": "lab@example.com", "password": "wrong"})

    response = client.post(reverse("account_login"), {"login": "lab@example.com", "password": PASSWORD})

    assert "Too many failed login attempts. Try again later." in response.content.decode()
    assert not response.context["user"].is_authenticated


def verified_user(email: str, username: str) -> User:
    user = User.objects.create_user(email=email, username=username, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def test_failures_on_one_account_do_not_lock_another_out_from_the_same_address(client):
    verified_user("lab@example.com", "lab")
    verified_user("clinic@example.com", "clinic")
    for _ in range(12):  # allauth's default counted 10 a minute per IP address
        client.post(reverse("account_login"), {"login": "lab@example.com", "password": "wrong"})

    response = client.post(reverse("account_login"), {"login": "clinic@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(User.objects.get(username="clinic").pk)


def test_resetting_the_password_lifts_a_lockout(client, django_capture_on_commit_callbacks):
    verified_user("lab@example.com", "lab")
    for _ in range(5):  # someone else locks the account out
        client.post(reverse("account_login"), {"login": "lab@example.com", "password": "wrong"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_reset_password"), {"email": "lab@example.com"})
    reset_url = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body).group(1)
    form_url = client.get(reset_url)["Location"]
    client.post(form_url, {"password1": "another-Long-phrase-77", "password2": "another-Long-phrase-77"})

    response = client.post(reverse("account_login"), {"login": "lab@example.com", "password": "another-Long-phrase-77"})

    assert response.status_code == 302
    assert "_auth_user_id" in client.session


@pytest.mark.parametrize(("username", "email", "password"), [
    ("enumtest9", "someone@example.com", "enumtest9enumtest9"),
    ("brightlab", "someone@example.com", "x-BRIGHTLAB-2026!"),
    ("someone", "marasmile@example.com", "Marasmile-and-more-42"),
])
def test_a_password_containing_the_account_name_is_refused(client, username, email, password):
    response = client.post(
        reverse("account_signup"),
        {"email": email, "username": username, "password1": password, "password2": password, "accept_terms": "on"},
    )

    assert response.status_code == 200
    assert "cannot contain your username or the name in your e-mail address" in response.content.decode()
    assert not User.objects.exists()


class TestAdminRequiresTOTP:
    @pytest.fixture(autouse=True)
    def _require_mfa(self, settings):
        settings.ADMIN_REQUIRES_MFA = True

    def staff(self):
        user = User.objects.create_user(email="ops@example.com", username="ops", password=PASSWORD, is_staff=True)
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        return user

    def test_staff_without_totp_is_sent_to_set_it_up(self, client):
        client.force_login(self.staff())

        response = client.get("/admin/", follow=True)

        assert response.redirect_chain[0][0] == reverse("staff_enrol")
        assert "Set up two-factor authentication to use your staff rights." in response.content.decode()

    def test_staff_with_totp_but_only_the_password_in_this_session_is_asked_for_the_code(self, client):
        user = self.staff()
        Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "unused"})
        client.force_login(user)

        response = client.get("/admin/accounts/user/?q=x")

        assert response.status_code == 302
        assert response["Location"] == f"{reverse('mfa_reauthenticate')}?next=%2Fadmin%2Faccounts%2Fuser%2F%3Fq%3Dx"

    def test_staff_who_entered_the_code_open_the_admin(self, client):
        user = self.staff()
        sign_in_with_mfa(client, user)

        assert client.get("/admin/").status_code == 200

    def test_password_then_authenticator_code_at_sign_in_opens_the_admin(self, client):
        user = self.staff()
        secret = generate_totp_secret()
        TOTP.activate(user, secret)

        client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
        assert client.get("/admin/").status_code == 302  # the code is not entered yet
        client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})

        assert client.get("/admin/").status_code == 200

    def test_admin_login_goes_through_allauth(self, client):
        response = client.get("/admin/", follow=True)

        assert response.redirect_chain[-1][0].startswith(reverse("account_login"))
        assert response.status_code == 200


def test_password_reset_sends_a_link_that_sets_a_new_password(client, django_capture_on_commit_callbacks):
    User.objects.create_user(email="lab@example.com", username="lab", password=PASSWORD)
    EmailAddress.objects.create(user_id=User.objects.get().pk, email="lab@example.com", verified=True, primary=True)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_reset_password"), {"email": "lab@example.com"})
    reset_url = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(reset_url)["Location"]  # allauth moves the key out of the URL first
    response = client.post(form_url, {"password1": "another-Long-phrase-77", "password2": "another-Long-phrase-77"})

    assert response.status_code == 302
    assert User.objects.get().check_password("another-Long-phrase-77")


class TestStaffEnrolment:
    """Setting up the authenticator app of a staff account needs the link e-mailed to it."""

    @pytest.fixture(autouse=True)
    def _require_mfa(self, settings):
        settings.ADMIN_REQUIRES_MFA = True

    def staff(self, email="ops@example.com", username="ops"):
        user = User.objects.create_user(email=email, username=username, password=PASSWORD, is_staff=True)
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        return user

    def activate(self, client, secret_code):
        client.post(reverse("account_reauthenticate"), {"password": PASSWORD})  # allauth asks again
        client.get(reverse("mfa_activate_totp"))
        secret = client.session[SECRET_SESSION_KEY]
        client.post(reverse("mfa_activate_totp"), {"code": secret_code(secret)})

    def test_a_password_alone_cannot_enrol_an_authenticator_and_open_the_admin(self, client):
        staff = self.staff()
        client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
        assert client.get(reverse("admin:index"))["Location"] == reverse("staff_enrol")

        client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
        response = client.get(reverse("mfa_activate_totp"))

        assert response["Location"] == reverse("staff_enrol")
        assert not Authenticator.objects.exists()
        assert client.get(reverse("admin:index")).status_code == 302

    @pytest.mark.django_db(transaction=True)  # allauth records the set-up on commit, inside the request
    def test_the_emailed_link_opens_the_set_up_and_then_the_admin(self, client, django_capture_on_commit_callbacks):
        staff = self.staff()
        client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("staff_enrol"))
            client.post(reverse("staff_enrol"))  # asked twice within a minute: one e-mail
        assert len(mail.outbox) == 1 and mail.outbox[0].to == [staff.email]
        link = re.search(r"https?://[^/\s]+(/staff/two-factor/\S+/)", mail.outbox[0].body).group(1)

        assert client.get(link)["Location"] == reverse("mfa_activate_totp")
        self.activate(client, totp_code)

        assert Authenticator.objects.filter(user=staff).exists()
        assert client.get(reverse("admin:index")).status_code == 200  # setting it up counts as the code

    def test_a_link_sent_to_another_staff_member_or_too_old_confirms_nothing(self, client):
        staff, other = self.staff(), self.staff("other@example.com", "other")
        client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})

        answer = client.get(reverse("staff_enrol_confirm", args=[enrolment_token(other)]))
        assert answer["Location"] == reverse("staff_enrol")
        page = client.get(answer["Location"]).content.decode()
        assert "That link is not valid any more. Ask for a new one." in page
        with time_machine.travel(timezone.now() - timedelta(minutes=31)):
            old = enrolment_token(staff)
        assert client.get(reverse("staff_enrol_confirm", args=[old]))["Location"] == reverse("staff_enrol")
        assert client.get(reverse("staff_enrol_confirm", args=["forged"]))["Location"] == reverse("staff_enrol")
        assert client.get(reverse("mfa_activate_totp"))["Location"] == reverse("staff_enrol")

    def test_people_without_staff_rights_set_up_their_app_as_before(self, client):
        user = User.objects.create_user(email="lab@example.com", username="lab", password=PASSWORD)
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

        assert client.get(reverse("staff_enrol")).status_code == 404
        self.activate(client, totp_code)
        assert Authenticator.objects.filter(user=user).exists()

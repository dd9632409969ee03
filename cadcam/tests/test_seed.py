import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command

from accounts.models import Profile, User, VerificationRequest
from listings.models import CadSoftware, Category

pytestmark = pytest.mark.django_db

COUNTED = [User, EmailAddress, Profile, VerificationRequest, Category, CadSoftware]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_seed_demo_twice_gives_the_same_rows(capsys):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")

    assert counts() == first
    assert first["User"] == 6
    assert Profile.objects.filter(verified_at__isnull=False).count() == 3
    assert VerificationRequest.objects.filter(status="pending").count() == 1
    assert first["Category"] >= 11
    assert first["CadSoftware"] >= 11
    assert "freelancer@cadcam.test" in capsys.readouterr().out


def test_demo_logins_work_with_verified_email(client):
    call_command("seed_demo")

    for email in ["staff@cadcam.test", "freelancer@cadcam.test", "employer@cadcam.test"]:
        assert EmailAddress.objects.get(email=email).verified
        response = client.post("/accounts/login/", {"login": email, "password": "cadcam-demo"})
        assert response.status_code == 302
        assert response["Location"] == "/"
        client.logout()
    assert User.objects.get(email="staff@cadcam.test").is_staff

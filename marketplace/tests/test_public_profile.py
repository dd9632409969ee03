import pytest
from django.urls import reverse

from accounts.services import verification_approve
from accounts.tests.helpers import make_complete_profile, make_pending_request, make_user

pytestmark = pytest.mark.django_db


def test_public_profile_shows_the_seller_but_never_private_contact_data(client):
    user = make_user(email="elena@example.com", username="elena")
    make_complete_profile(user, about="Crowns <script>alert(1)</script>\nand bridges.")

    body = client.get(reverse("public_profile", args=["elena"])).content.decode()

    assert "Test Designer" in body
    assert "Germany" in body
    assert "English" in body
    assert "Member since" in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)" not in body
    assert "elena@example.com" not in body
    assert "136695976" not in body
    assert "901820" not in body
    assert "Verified" not in body


def test_verified_badge_shows_on_the_public_profile(client):
    user = make_user(username="elena")
    verification_approve(request=make_pending_request(user), by=make_user(is_staff=True))

    body = client.get(reverse("public_profile", args=["elena"])).content.decode()

    assert "verified-badge" in body


def test_unknown_username_is_404(client):
    assert client.get(reverse("public_profile", args=["nobody"])).status_code == 404

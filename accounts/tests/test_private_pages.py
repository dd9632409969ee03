"""Pages for a signed-in user are never kept by a browser or proxy (cadcam.middleware.PrivateCacheMiddleware)."""

import pytest

from accounts.tests.helpers import make_user

pytestmark = pytest.mark.django_db


def test_a_redirect_to_a_signed_in_user_is_not_cacheable(client):
    client.force_login(make_user())

    response = client.get("/dashboard")  # APPEND_SLASH

    assert response.status_code in (301, 302)
    assert "no-store" in (response.get("Cache-Control") or "")


def test_a_page_for_a_signed_in_user_is_private_no_store_and_an_anonymous_one_is_not(client):
    assert "no-store" not in (client.get("/").get("Cache-Control") or "")
    client.force_login(make_user())

    assert client.get("/").get("Cache-Control") == "private, no-store"

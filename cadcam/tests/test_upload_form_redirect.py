"""Forms sent by the upload script get the redirect's address instead of the redirect, so the
browser opens the next page itself and its messages are still there to show."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_redirect_for_the_upload_script_becomes_an_address_to_open(client):
    response = client.post(reverse("account_logout"), HTTP_X_UPLOAD_FORM="1")

    assert response.status_code == 204
    assert response["X-Redirect-To"] == "/"


def test_other_requests_are_redirected_as_usual(client):
    response = client.post(reverse("account_logout"))

    assert response.status_code == 302
    assert "X-Redirect-To" not in response

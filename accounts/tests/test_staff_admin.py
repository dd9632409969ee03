"""The admin asks acting_as_staff itself (cadcam/admin_site.py), and the step-up middleware
compares the path the resolver routes on (path_info): a request that comes in under another
SCRIPT_NAME (gunicorn takes one from a trusted forwarder's header) does not open the admin to a
staff session without the second factor."""

import pytest
from django.urls import reverse

from accounts.models import DocumentAccess
from accounts.tests.helpers import make_pending_request, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def need_mfa(settings):
    settings.ADMIN_REQUIRES_MFA = True
    return settings


def test_password_only_staff_do_not_get_the_admin_under_another_script_name(client, need_mfa):
    staff = make_user(is_staff=True)
    client.force_login(staff)

    response = client.get(reverse("admin:index"), SCRIPT_NAME="/x")

    assert response.status_code == 302  # sent to set up / enter the second factor
    assert response["Location"] == reverse("staff_enrol")


def test_password_only_staff_cannot_open_an_id_document_under_another_script_name(client, need_mfa):
    owner = make_user()
    request = make_pending_request(owner)
    staff = make_user(is_staff=True)
    client.force_login(staff)

    response = client.get(reverse("admin:accounts_verificationrequest_document", args=[request.pk]),
                          SCRIPT_NAME="/x")

    assert response.status_code != 200
    assert not DocumentAccess.objects.filter(viewed_by=staff).exists()

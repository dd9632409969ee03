"""What listings registers with accounts: its part of the data export, and publishing the
listings staff approved once their owner is verified."""

import json

import pytest
from django.urls import reverse

from accounts.tests.helpers import make_user
from listings.tests.helpers import make_draft

pytestmark = pytest.mark.django_db


def test_data_export_includes_the_users_listings(client):
    user = make_user()
    make_draft(user, title="Night guard design")
    client.force_login(user)

    data = json.loads(client.get(reverse("accounts:export")).content)

    assert [(item["title"], item["status"]) for item in data["listings"]] == [("Night guard design", "draft")]

"""What orders registers with accounts: the deletion guard and its part of the data export."""

import json

import pytest
from django.urls import reverse

from accounts.tests.helpers import PASSWORD
from orders.tests.helpers import make_order

pytestmark = pytest.mark.django_db


def test_an_account_with_orders_in_progress_cannot_be_deleted(client):
    order = make_order()
    client.force_login(order.employer)

    response = client.post(reverse("accounts:delete"), {"password": PASSWORD})

    assert "You have orders in progress." in response.content.decode()
    order.employer.refresh_from_db()
    assert order.employer.deleted_at is None


def test_data_export_includes_orders_on_both_sides(client):
    order = make_order()
    client.force_login(order.freelancer)

    data = json.loads(client.get(reverse("accounts:export")).content)

    assert [(item["id"], item["role"]) for item in data["orders"]] == [(order.pk, "designer")]

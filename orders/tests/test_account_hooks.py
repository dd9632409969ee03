"""What orders registers with accounts: the deletion guard and its part of the data export."""

import json

import pytest
from django.urls import reverse

from accounts.tests.helpers import PASSWORD
from orders.pin_services import pin_create, pin_resolve
from orders.tests.helpers import make_order, stl_upload

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


def test_data_export_includes_the_pins_and_replies_the_user_wrote(client):
    order = make_order(files=[stl_upload("scan.stl")])
    scan = order.files.get()
    camera = {"position": [0, -40, 30], "target": [0, 0, 0]}
    mine = pin_create(file=scan, by=order.employer, text="Margin unclear", point=[1, 2, 3], normal=[0, 0, 1],
                      camera=camera)
    pin_create(file=scan, by=order.freelancer, text="Not mine", point=[1, 2, 3], normal=[0, 0, 1], camera=camera)
    answered = pin_create(file=scan, by=order.freelancer, text="Theirs", point=[1, 2, 3], normal=[0, 0, 1],
                          camera=camera)
    pin_resolve(pin=answered, by=order.employer, reply="Fine as it is")
    client.force_login(order.employer)

    data = json.loads(client.get(reverse("accounts:export")).content)

    assert [(item["number"], item["text"], item["reply"]) for item in data["pins"]] == [
        (mine.number, "Margin unclear", ""), (answered.number, "", "Fine as it is")]

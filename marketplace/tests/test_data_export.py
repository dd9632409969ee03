"""The data export gathers every app's registered section."""

import json

import pytest
from django.urls import reverse

from disputes.services import dispute_open
from messaging.services import conversation_for_order, message_send
from orders.services import order_accept
from orders.tests.helpers import make_order
from payouts.tests.helpers import connect_payouts, make_completed_order

pytestmark = pytest.mark.django_db


def test_data_export_includes_payouts_disputes_and_messages_sent(client):
    completed = make_completed_order()
    connect_payouts(completed.freelancer)
    order = make_order(employer=completed.employer)
    order = order_accept(order=order, by=order.freelancer)
    dispute_open(order=order, by=order.employer, reason="quality",
                 description="The margins are open on the distal side of the crown.")
    message_send(conversation=conversation_for_order(order=order), sender=order.employer, body="Any news?")

    client.force_login(completed.freelancer)
    designer = json.loads(client.get(reverse("accounts:export")).content)
    assert designer["payouts"]["account"]["state"] == "enabled"
    assert [p["amount_cents"] for p in designer["payouts"]["payouts"]] == [completed.net_cents]

    client.force_login(order.employer)
    client_data = json.loads(client.get(reverse("accounts:export")).content)
    assert client_data["disputes_opened"][0]["order_id"] == order.pk
    assert "Any news?" in [m["body"] for m in client_data["messages_sent"]]

"""Orders make people contacts for private listings (the "orders" source that orders registers
in listings/contacts.py): the client and the designer of an order, either way round, once the
client has paid; an order still waiting for payment never reached the designer."""

import pytest

from listings.contacts import contacts_of
from orders.services import order_decline
from orders.tests.helpers import make_order

pytestmark = pytest.mark.django_db


def test_the_client_and_the_designer_of_an_order_are_each_others_contacts():
    order = make_order()

    assert list(contacts_of(order.freelancer)) == [order.employer]
    assert list(contacts_of(order.employer)) == [order.freelancer]


def test_an_order_that_ended_still_counts():
    order = make_order()
    order_decline(order=order, by=order.freelancer, reason="Fully booked this week")

    assert list(contacts_of(order.freelancer)) == [order.employer]


def test_an_order_waiting_for_payment_makes_no_contact():
    order = make_order(authorized=False)

    assert not contacts_of(order.freelancer).exists()
    assert not contacts_of(order.employer).exists()

"""Conversations make people contacts for private listings (the "conversations" source that
messaging registers in listings/contacts.py): whoever shares a direct or an order thread with
messages in it. Support and dispute threads, which are with staff, do not count."""

import pytest
from django.urls import reverse

from accounts.services import profile_update
from accounts.tests.helpers import make_user
from listings.contacts import CONTACT_SOURCES, contacts_of
from listings.models import Listing
from listings.tests.helpers import make_verified_seller
from listings.tests.test_listing_form import form_data
from messaging.services import conversation_for_order, conversation_start, message_send, support_request_open
from messaging.tests.helpers import make_direct
from orders.tests.helpers import make_order

pytestmark = pytest.mark.django_db


def test_both_sources_are_registered_at_start_up():
    assert {"conversations", "orders"} <= set(CONTACT_SOURCES)


def test_the_two_people_of_a_direct_conversation_are_each_others_contacts():
    _, lab, designer = make_direct()

    assert list(contacts_of(lab)) == [designer]
    assert list(contacts_of(designer)) == [lab]


def test_a_conversation_nobody_wrote_in_makes_no_contact():
    lab, designer = make_user(), make_user()
    conversation_start(sender=lab, recipient=designer)

    assert not contacts_of(lab).exists()


def test_an_order_thread_makes_contacts():
    order = make_order()
    message_send(conversation=conversation_for_order(order=order), sender=order.employer, body="Shade A2, please.")

    assert order.employer in contacts_of(order.freelancer)


def test_the_support_team_answering_a_request_is_no_contact():
    user, staff = make_user(), make_user(is_staff=True)
    conversation = support_request_open(user=user, body="How do I get a monthly invoice?").conversation
    message_send(conversation=conversation, sender=staff, body="From the payouts page.")

    assert not contacts_of(user).exists()
    assert not contacts_of(staff).exists()


def test_a_seller_finds_and_picks_a_client_they_wrote_to(client):
    seller = make_verified_seller()
    lab = make_user(username="lab-berlin")
    profile_update(profile=lab.profile, data={"account_type": "company", "company_name": "Dental Lab Berlin"})
    make_direct(sender=lab, recipient=seller)
    make_user(username="berlin-other")  # never talked to the seller
    client.force_login(seller)

    page = client.get(reverse("listings:new")).content.decode()
    found = client.get(reverse("listings:recipient_search"), {"q": "berlin"}).content.decode()
    saved = client.post(reverse("listings:new"),
                        form_data(is_private="on", recipients=[str(lab.pk)], action="save"))

    assert "Type part of a name, e.g. “Dental Lab Berlin”" in page
    assert f'value="{lab.pk}"' in found and "@berlin-other" not in found
    assert saved.status_code == 302
    assert list(Listing.objects.get(owner=seller).recipients.all()) == [lab]

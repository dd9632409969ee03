"""Pages that know whether someone sells (issue 18): a person who only buys sees one way in,
"Start selling", and none of the seller's buttons, banner or sections until they have a
listing or a payout account."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.helpers import make_complete_profile, make_user
from listings.tests.helpers import make_draft
from marketplace.selling import sells
from orders.tests.helpers import make_order
from payouts.tests.helpers import connect_payouts

pytestmark = pytest.mark.django_db

SELLER_THINGS = ('data-testid="dashboard-earnings"', ">New listing<", 'data-testid="seller-banner"',
                 'id="my-listings"', 'id="orders-received"', "Earnings &amp; payouts")


def dashboard(client) -> str:
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return response.content.decode()


def test_someone_who_only_buys_sees_start_selling_and_no_seller_things(client):
    buyer = make_order().employer
    client.force_login(buyer)

    page = dashboard(client)

    assert [thing for thing in SELLER_THINGS if thing in page] == []
    assert page.count(reverse("start_selling")) == 2  # the dashboard's button and the user menu
    assert 'id="orders-sent"' in page and 'data-testid="dashboard-spending"' in page
    menu = re.findall(r'class="dropdown-item" href="([^"]+)"', page)
    assert menu.index(reverse("accounts:profile")) < menu.index(reverse("public_profile", args=[buyer.username]))


def test_the_first_listing_makes_a_seller_at_once(client):
    person = make_user()
    make_complete_profile(person)
    client.force_login(person)
    assert 'data-testid="dashboard-start-selling"' in dashboard(client)

    make_draft(person, title="My first crown design")

    page = dashboard(client)
    assert 'data-testid="dashboard-start-selling"' not in page
    assert ">New listing<" in page and 'data-testid="seller-banner"' in page and "My first crown design" in page
    assert 'id="orders-sent"' not in page  # never bought: no empty "Orders I sent"


def test_a_payout_account_makes_a_seller_too(client):
    person = make_user()
    assert not sells(person)

    connect_payouts(person)

    assert sells(person)
    client.force_login(person)
    assert 'data-testid="dashboard-earnings"' in dashboard(client)


def test_the_answer_is_kept_between_pages(client):
    person = make_user()
    assert not sells(person)

    with CaptureQueriesContext(connection) as queries:
        assert not sells(person)

    assert len(queries) == 0


def test_start_selling_shows_where_each_step_stands(client):
    person = make_user()
    make_complete_profile(person)
    client.force_login(person)

    page = client.get(reverse("start_selling")).content.decode()

    steps = re.findall(r'<h2 class="h5 mb-1">\d\. ([^<]+?)( <span class="badge text-bg-success">Done</span>)?</h2>',
                       page)
    assert steps == [("Complete your profile", " <span class=\"badge text-bg-success\">Done</span>"),
                     ("Verify your identity", ""), ("Create your first listing", ""), ("Set up payouts", "")]
    assert 'class="btn btn-primary text-nowrap" href="/account/verification/"' in page  # the next step stands out
    assert "9%" in page and "$7.00" in page


def test_start_selling_is_for_signed_in_people(client):
    assert client.get(reverse("start_selling")).status_code == 302

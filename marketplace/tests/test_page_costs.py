"""What the pages that grow with a user's history cost: the same queries for one row as for
many (no query per row), every growing list paged on its own, and an order page that only
reads (issue 17)."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.helpers import make_user
from listings.services import favorite_toggle
from listings.tests.helpers import make_published, make_verified_seller
from messaging.models import Conversation, Message, Participant
from messaging.selectors import unread_total
from messaging.services import conversation_for_order, conversation_mark_read, message_send
from orders.services import order_accept, order_deliver, order_request_revision
from orders.tests.helpers import make_order, stl_upload
from reviews.services import review_create, review_reply
from reviews.tests.helpers import completed_order

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK", "BEGIN", "COMMIT")


def queries_for(client, url, params=None) -> list[str]:
    cache.clear()  # every count from a cold cache (the navigation badge is kept there)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.status_code
    return [query["sql"] for query in captured.captured_queries]


def statements_that_write(sql: list[str]) -> list[str]:
    return [query for query in sql if query.lstrip().upper().startswith(WRITES) or "FOR UPDATE" in query.upper()]


def review(order, rating=5, *, reply=False):
    """The client's review of the designer, made public by the designer's review of the client;
    with `reply`, the designer answers it."""
    made = review_create(order=order, author=order.employer, rating=rating,
                         comment="Precise margins, fitted first time.")
    review_create(order=order, author=order.freelancer, rating=5, comment="Clear instructions and good scans.")
    if reply:
        made.refresh_from_db()
        review_reply(review=made, by=order.freelancer, text="Thank you, happy to work on your next case!")


# --- the order page ----------------------------------------------------------------------------------


def revision_round(order):
    """A delivery with a file, then a revision request: two more timeline events, by both parties."""
    order_deliver(order=order, by=order.freelancer, note="Here it is", files=[stl_upload("round.stl")])
    order.refresh_from_db()
    return order_request_revision(order=order, by=order.employer, message="Open the contact on 46 a little.")


@pytest.mark.parametrize("viewer", ["freelancer", "employer"])
def test_the_order_page_runs_the_same_queries_for_a_short_and_a_long_timeline_and_thread(client, viewer):
    listing = make_published(revisions_included=3)
    order = revision_round(order_accept(order=make_order(listing=listing), by=listing.owner))
    conversation = conversation_for_order(order=order)
    message_send(conversation=conversation, sender=order.employer, body="Is a 0.5 mm cement gap fine?")
    conversation_mark_read(conversation=conversation, user=order.freelancer)
    user = getattr(order, viewer)
    client.force_login(user)
    url = reverse("orders:detail", args=[order.pk])
    client.get(url)
    few = queries_for(client, url)

    for _ in range(2):
        order = revision_round(order)
    for n in range(6):
        message_send(conversation=conversation, sender=(order.freelancer, order.employer)[n % 2], body=f"Note {n}")
    conversation_mark_read(conversation=conversation, user=user)

    many = queries_for(client, url)
    body = client.get(url).content.decode()
    assert order.events.count() == 9 and order.deliveries.count() == 3
    assert body.count("Revision requested") == 3 and "Note 5" in body
    assert len(many) == len(few), "\n".join(many)


def test_showing_the_order_page_writes_nothing_and_opens_no_transaction(client):
    # given an order whose thread the designer has read
    order = make_order()
    conversation = conversation_for_order(order=order)
    message_send(conversation=conversation, sender=order.employer, body="Is a 0.5 mm cement gap fine?")
    conversation_mark_read(conversation=conversation, user=order.freelancer)
    client.force_login(order.freelancer)
    url = reverse("orders:detail", args=[order.pk])
    client.get(url)  # the session's first request

    # when the designer looks at the order again
    sql = queries_for(client, url)

    # then nothing was written, locked or wrapped in a transaction
    assert statements_that_write(sql) == []


def test_an_order_without_messages_gets_no_conversation_until_the_first_one_is_sent(client):
    order = make_order()
    client.force_login(order.employer)
    url = reverse("orders:detail", args=[order.pk])

    sql = queries_for(client, url)
    page = client.get(url).content.decode()

    assert statements_that_write(sql) == []
    assert not Conversation.objects.filter(order=order).exists()
    start_url = reverse("messaging:order_send", args=[order.pk])
    assert f'action="{start_url}"' in page and 'id="message-poller"' not in page

    sent = client.post(start_url, {"body": "The scans are attached, shade A2."})

    assert sent["Location"] == url + "#conversation"
    conversation = Conversation.objects.get(order=order, kind=Conversation.Kind.ORDER)
    assert [m.body for m in Message.objects.filter(conversation=conversation)] == ["The scans are attached, shade A2."]
    assert unread_total(order.freelancer) == 1
    client.force_login(order.freelancer)
    page = client.get(url).content.decode()
    assert "shade A2" in page and reverse("messaging:send", args=[conversation.pk]) in page
    assert 'id="message-poller"' in page
    assert unread_total(order.freelancer) == 0  # seeing the page read it


def test_seeing_new_messages_on_the_order_page_moves_only_the_read_pointer(client):
    order = make_order()
    conversation = conversation_for_order(order=order)
    message_send(conversation=conversation, sender=order.employer, body="Is a 0.5 mm cement gap fine?")
    client.force_login(order.freelancer)
    url = reverse("orders:detail", args=[order.pk])

    sql = queries_for(client, url)

    (write,) = statements_that_write(sql)
    assert write.startswith("UPDATE") and Participant._meta.db_table in write
    assert unread_total(order.freelancer) == 0


def test_only_the_order_s_parties_start_its_conversation(client):
    order = make_order()
    client.force_login(make_user())

    refused = client.post(reverse("messaging:order_send", args=[order.pk]), {"body": "Hello there"})

    assert refused.status_code == 404
    assert not Conversation.objects.filter(order=order).exists()


def test_an_empty_first_message_is_refused_on_the_order_page(client):
    order = make_order()
    client.force_login(order.employer)

    response = client.post(reverse("messaging:order_send", args=[order.pk]), {"body": ""}, follow=True)

    assert "Write a message or attach a file." in response.content.decode()
    assert not Message.objects.filter(conversation__order=order).exists()


# --- the dashboard --------------------------------------------------------------------------------


def test_the_dashboard_runs_the_same_queries_for_one_or_many_orders_listings_and_saved_listings(client):
    me = make_verified_seller()
    mine = make_published(owner=me)
    make_order(listing=mine)
    make_order(employer=me)
    favorite_toggle(user=me, listing=make_published())
    client.force_login(me)
    url = reverse("dashboard")
    client.get(url)
    few = queries_for(client, url)

    for _ in range(3):
        make_order(listing=mine)
        make_order(employer=me)
        favorite_toggle(user=me, listing=make_published())
    make_published(owner=me)
    make_published(owner=me)

    many = queries_for(client, url)
    body = client.get(url).content.decode()
    assert body.count("Your move") == 4  # the orders received wait for my answer
    assert body.count('data-testid="listing-card"') == 4
    assert len(many) == len(few), "\n".join(many)


def test_each_dashboard_section_is_paged_on_its_own_keeping_the_others_and_the_filter(client, monkeypatch):
    monkeypatch.setattr("marketplace.views.DASHBOARD_ORDERS_PER_PAGE", 2)
    monkeypatch.setattr("marketplace.views.DASHBOARD_LISTINGS_PER_PAGE", 1)
    me = make_verified_seller()
    mine = make_published(owner=me, title="Crown design one")
    make_published(owner=me, title="Crown design two")
    received = [make_order(listing=mine) for _ in range(3)]
    client.force_login(me)
    url = reverse("dashboard")

    first = client.get(url, {"status": "requested"})
    later = client.get(url, {"status": "requested", "received_page": "2", "listings_page": "2"})

    assert [o.pk for o in first.context["order_lists"][1][1]] == [o.pk for o in received[::-1][:2]]
    assert [o.pk for o in later.context["order_lists"][1][1]] == [received[0].pk]
    assert [listing.title for listing in later.context["my_listings"]] == ["Crown design one"]
    body = first.content.decode()
    assert "Page 1 of 2" in body
    assert 'href="?status=requested&amp;received_page=2#orders-received"' in body
    assert 'href="?status=requested&amp;listings_page=2#my-listings"' in body
    later_body = later.content.decode()
    assert 'href="?status=requested&amp;received_page=1&amp;listings_page=2#orders-received"' in later_body


@pytest.mark.parametrize("number", ["abc", "0", "-1", "999", "2.5", ""])
def test_dashboard_page_numbers_out_of_range_or_not_numbers_show_a_page(client, monkeypatch, number):
    monkeypatch.setattr("marketplace.views.DASHBOARD_ORDERS_PER_PAGE", 1)
    me = make_verified_seller()
    mine = make_published(owner=me)
    make_order(listing=mine)
    make_order(listing=mine)
    client.force_login(me)

    response = client.get(reverse("dashboard"), {"received_page": number, "sent_page": number,
                                                 "listings_page": number, "saved_page": number})

    assert response.status_code == 200
    lists = {title: orders for title, orders, *_ in response.context["order_lists"]}
    assert len(lists["Orders I received"]) == 1


# --- the public profile ---------------------------------------------------------------------------


def test_the_public_profile_runs_the_same_queries_for_one_or_many_listings_and_reviews(client):
    designer = make_verified_seller()
    listing = make_published(owner=designer)
    review(completed_order(listing=listing), reply=True)
    url = reverse("public_profile", args=[designer.username])
    client.get(url)
    few = queries_for(client, url)

    for _ in range(3):
        other = make_published(owner=designer)
        review(completed_order(listing=other), rating=4, reply=True)

    many = queries_for(client, url)
    body = client.get(url).content.decode()
    assert body.count('data-testid="listing-card"') == 4
    assert body.count('data-testid="review"') == 4 and body.count('data-testid="review-reply"') == 4
    assert len(many) == len(few), "\n".join(many)


def test_profile_listings_and_reviews_are_paged_separately_and_keep_each_other(client, monkeypatch):
    monkeypatch.setattr("marketplace.views.PROFILE_LISTINGS_PER_PAGE", 2)
    monkeypatch.setattr("marketplace.views.PROFILE_REVIEWS_PER_PAGE", 1)
    designer = make_verified_seller()
    listings = [make_published(owner=designer, title=f"Crown design {n}") for n in range(3)]
    review(completed_order(listing=listings[0]), rating=5)
    review(completed_order(listing=listings[1]), rating=3)
    url = reverse("public_profile", args=[designer.username])

    first = client.get(url).content.decode()
    second = client.get(url, {"listings_page": "2", "reviews_page": "2"}).content.decode()

    assert first.count('data-testid="listing-card"') == 2 and first.count('data-testid="review"') == 1
    assert 'href="?listings_page=2#services"' in first and 'href="?reviews_page=2#reviews"' in first
    assert second.count('data-testid="listing-card"') == 1 and "Crown design 0" in second
    assert "Rated 3 out of 5" in first and "Rated 5 out of 5" not in first  # the newest first
    assert second.count('data-testid="review"') == 1 and "Rated 5 out of 5" in second
    assert 'href="?listings_page=1&amp;reviews_page=2#services"' in second
    assert 'href="?listings_page=2&amp;reviews_page=1#reviews"' in second
    assert "(3)" in first and "(2)" in first  # the totals beside the headings


@pytest.mark.parametrize("number", ["abc", "0", "999", "%00", ""])
def test_profile_page_numbers_out_of_range_or_not_numbers_show_a_page(client, monkeypatch, number):
    monkeypatch.setattr("marketplace.views.PROFILE_LISTINGS_PER_PAGE", 1)
    designer = make_verified_seller()
    make_published(owner=designer)
    make_published(owner=designer)

    response = client.get(reverse("public_profile", args=[designer.username]),
                          {"listings_page": number, "reviews_page": number})

    assert response.status_code == 200
    assert response.content.decode().count('data-testid="listing-card"') == 1

"""Unread counts (per conversation, in total, in the navigation), read receipts, the inbox."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.services import profile_update
from accounts.tests.helpers import make_user
from messaging import badge
from messaging.models import Participant
from messaging.selectors import inbox_of, read_receipt, unread_total
from messaging.services import conversation_for_order, conversation_mark_read, message_send
from messaging.tests.helpers import make_direct, reply
from orders.tests.helpers import make_order

pytestmark = pytest.mark.django_db


def unread_by_title(user):
    return {conversation.pk: conversation.unread for conversation in inbox_of(user)}


def test_unread_counts_per_conversation_and_in_total():
    alice, bob, carol = make_user(), make_user(), make_user()
    with_alice, _, _ = make_direct(alice, bob)
    reply(with_alice, alice, "Second question")
    with_carol, _, _ = make_direct(carol, bob)

    assert unread_total(bob) == 3
    assert unread_by_title(bob) == {with_alice.pk: 2, with_carol.pk: 1}
    assert unread_total(alice) == 0  # one's own messages are never unread

    conversation_mark_read(conversation=with_alice, user=bob)

    assert unread_total(bob) == 1
    assert unread_by_title(bob) == {with_alice.pk: 0, with_carol.pk: 1}


def test_opening_a_conversation_marks_it_read_and_the_navigation_shows_the_count(client):
    conversation, alice, bob = make_direct()
    reply(conversation, alice, "And another thing")
    client.force_login(bob)

    inbox = client.get(reverse("messaging:inbox")).content.decode()
    assert 'data-testid="nav-unread">2<' in inbox
    assert 'data-testid="unread-count">2<' in inbox

    client.get(reverse("messaging:conversation", args=[conversation.pk]))

    page = client.get(reverse("messaging:inbox")).content.decode()
    assert 'data-testid="nav-unread"' not in page
    assert unread_total(bob) == 0


def badge_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("home"))
    return len([query["sql"] for query in queries if "messaging_message" in query["sql"]])


def test_the_navigation_badge_costs_one_query_and_then_none_until_something_changes(client):
    conversation, alice, bob = make_direct()
    client.force_login(bob)

    assert badge_queries(client) == 1
    assert badge_queries(client) == 0  # kept in the cache under bob's token
    reply(conversation, alice, "Did you get the scans?")
    assert badge_queries(client) == 1
    assert 'data-testid="nav-unread">2<' in client.get(reverse("home")).content.decode()


def test_what_moves_a_badge_and_whose(django_capture_on_commit_callbacks):
    conversation, alice, bob = make_direct()
    carol = make_user()
    elsewhere, _, _ = make_direct(make_user(), carol)
    for person in (alice, bob, carol):
        unread_total(person)
    tokens = lambda: {person: cache.get(badge.token_key(person.pk)) for person in (alice, bob, carol)}  # noqa: E731
    before = tokens()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = reply(conversation, alice, "Are the scans coming?")
    moved = tokens()

    assert moved[alice] != before[alice] and moved[bob] != before[bob]  # both seats in the thread
    assert moved[carol] == before[carol]
    assert unread_total(bob) == 2
    for callback in callbacks:  # and once more after the commit
        callback()
    assert tokens()[bob] != moved[bob]

    conversation_mark_read(conversation=conversation, user=bob)
    assert unread_total(bob) == 0
    reply(conversation, alice, "Hello?")
    answer.delete()
    assert unread_total(bob) == 1
    Participant.objects.get(conversation=elsewhere, user=carol).delete()
    assert unread_total(carol) == 0


def test_without_an_answering_cache_the_badge_is_counted_every_time(client, monkeypatch):
    conversation, alice, bob = make_direct()

    def broken(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(cache, "get_many", broken)
    assert unread_total(bob) == 1
    reply(conversation, alice, "Still there?")
    assert unread_total(bob) == 2


def test_read_receipt_says_sent_then_seen():
    conversation, alice, bob = make_direct()

    assert read_receipt(conversation, user=alice) == "Sent"
    assert read_receipt(conversation, user=bob) == ""  # the newest message is not bob's

    conversation_mark_read(conversation=conversation, user=bob)

    assert read_receipt(conversation, user=alice) == "Seen"


def test_polling_brings_new_messages_marks_them_read_and_updates_the_receipt(client):
    conversation, alice, bob = make_direct()
    first = conversation.messages.get()
    client.force_login(alice)
    poll = reverse("messaging:poll", args=[conversation.pk])

    quiet = client.get(f"{poll}?after={first.pk}").content.decode()
    assert 'data-testid="message"' not in quiet
    assert f"?after={first.pk}" in quiet
    assert ">Sent<" in quiet

    answer = reply(conversation, bob, "Line one\nLine two <b>bold</b> https://evil.example/login")
    fresh = client.get(f"{poll}?after={first.pk}").content.decode()

    assert 'hx-swap-oob="beforeend:#message-list"' in fresh
    assert "Line one<br>Line two &lt;b&gt;bold&lt;/b&gt; https://evil.example/login" in fresh
    assert '<a href="https://evil.example' not in fresh  # links are not clickable
    assert f"?after={answer.pk}" in fresh
    assert unread_total(alice) == 0
    assert ">Seen<" not in fresh  # bob's message is the newest: no receipt for alice


def test_inbox_lists_newest_first_and_searches_by_person_or_listing(client):
    from listings.tests.helpers import make_published

    me = make_user()
    listing = make_published(title="Implant bar design in exocad")
    about_listing, _, _ = make_direct(me, listing.owner, listing=listing)
    designer = make_user(username="marcorossi")
    profile_update(profile=designer.profile, data={"display_name": "Marco Rossi"})
    with_marco, _, _ = make_direct(me, designer)
    newest, _, _ = make_direct(make_user(), me)

    assert [c.pk for c in inbox_of(me)] == [newest.pk, with_marco.pk, about_listing.pk]
    assert [c.pk for c in inbox_of(me, query="rossi")] == [with_marco.pk]
    assert [c.pk for c in inbox_of(me, query="implant bar")] == [about_listing.pk]
    assert list(inbox_of(me, query="nobody like this")) == []
    client.force_login(me)
    page = client.get(reverse("messaging:inbox"), {"q": "Marco"}).content.decode()
    assert "Marco Rossi" in page
    assert "Implant bar design" not in page


def test_the_inbox_query_count_does_not_grow_with_conversations(client):
    me = make_user()
    make_direct(me)
    client.force_login(me)
    client.get(reverse("messaging:inbox"))
    cache.clear()  # both counts from a cold cache (the navigation badge is kept there)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("messaging:inbox"))
    for _ in range(4):
        make_direct(make_user(), me)
    cache.clear()
    with CaptureQueriesContext(connection) as five:
        client.get(reverse("messaging:inbox"))

    assert len(five) == len(one)


def test_the_order_page_shows_the_order_conversation_to_both_parties(client):
    order = make_order()
    conversation = conversation_for_order(order=order)
    message_send(conversation=conversation, sender=order.employer, body="Is a 0.5 mm cement gap fine?")
    assert unread_total(order.freelancer) == 1
    client.force_login(order.freelancer)

    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    sent = client.post(reverse("messaging:send", args=[conversation.pk]), {"body": "Yes, 0.5 mm is fine."})

    assert 'id="conversation"' in page
    assert "Is a 0.5 mm cement gap fine?" in page
    assert unread_total(order.freelancer) == 0  # seeing the order page reads the thread
    assert sent["Location"] == reverse("orders:detail", args=[order.pk]) + "#conversation"
    assert unread_total(order.employer) == 1
    assert conversation_for_order(order=order) == conversation  # one conversation per order

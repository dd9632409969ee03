"""The inbox and the staff support inbox: paged (a page number out of range or not a number
shows a page, the search or the filter is kept in the links), and the same queries for one
conversation as for a full page (issue 17)."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.helpers import make_user
from messaging.services import support_assign, support_close, support_request_open
from messaging.tests.helpers import make_direct, reply

pytestmark = pytest.mark.django_db
INBOX = reverse("messaging:inbox")
STAFF_INBOX = reverse("messaging:staff_inbox")


def query_count(client, url, params=None) -> int:
    cache.clear()  # every count from a cold cache (the navigation badge is kept there)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    return len(captured)


def rows(response) -> list[int]:
    return [conversation.pk for conversation in response.context["conversations"]]


# --- the inbox -----------------------------------------------------------------------------------------


def test_the_inbox_is_paged_newest_first(client, monkeypatch):
    monkeypatch.setattr("messaging.views.INBOX_PER_PAGE", 2)
    me = make_user()
    made = [make_direct(make_user(), me, body=f"Crown question {n}")[0] for n in range(3)]
    client.force_login(me)

    first = client.get(INBOX)
    later = client.get(INBOX, {"page": "2"})

    assert rows(first) == [made[2].pk, made[1].pk]
    assert rows(later) == [made[0].pk]
    assert "Page 1 of 2" in first.content.decode() and 'href="?page=2"' in first.content.decode()
    assert 'href="?page=1"' in later.content.decode()


def test_inbox_paging_keeps_the_search_words(client, monkeypatch):
    monkeypatch.setattr("messaging.views.INBOX_PER_PAGE", 1)
    me = make_user()
    for n in range(2):
        make_direct(make_user(username=f"crownlab{n}"), me)
    make_direct(make_user(username="bridgelab"), me)
    client.force_login(me)

    response = client.get(INBOX, {"q": "crownlab"})

    body = response.content.decode()
    assert "Page 1 of 2" in body and 'href="?q=crownlab&amp;page=2"' in body


def test_the_inbox_poll_asks_for_the_page_it_shows(client, monkeypatch):
    monkeypatch.setattr("messaging.views.INBOX_PER_PAGE", 1)
    me = make_user()
    older, _, _ = make_direct(make_user(), me, body="Older question")
    make_direct(make_user(), me, body="Newer question")
    client.force_login(me)

    page = client.get(INBOX, {"page": "2"}).content.decode()
    polled = client.get(INBOX, {"page": "2"}, headers={"HX-Request": "true"})

    assert 'hx-get="/messages/?page=2"' in page
    assert rows(polled) == [older.pk] and "Older question" in polled.content.decode()


@pytest.mark.parametrize("number", ["abc", "0", "-3", "999", "1e3", ""])
def test_inbox_page_numbers_out_of_range_or_not_numbers_show_a_page(client, monkeypatch, number):
    monkeypatch.setattr("messaging.views.INBOX_PER_PAGE", 1)
    me = make_user()
    make_direct(make_user(), me)
    make_direct(make_user(), me)
    client.force_login(me)

    response = client.get(INBOX, {"page": number})

    assert response.status_code == 200 and len(rows(response)) == 1


def test_the_inbox_runs_the_same_queries_for_one_conversation_or_a_full_page(client):
    me = make_user()
    make_direct(make_user(), me)
    client.force_login(me)
    client.get(INBOX)
    one = query_count(client, INBOX)

    for _ in range(30):  # more than a page
        conversation, _, _ = make_direct(make_user(), me)
        reply(conversation, me, "Yes, send the scans.")

    assert query_count(client, INBOX) == one
    assert query_count(client, INBOX, {"page": "2"}) == one


# --- the staff support inbox ---------------------------------------------------------------------------


def open_request(body="How do I get a monthly invoice?"):
    return support_request_open(user=make_user(), body=body).conversation


def test_the_staff_inbox_is_paged_and_keeps_the_filter(client, monkeypatch):
    monkeypatch.setattr("messaging.support_views.STAFF_INBOX_PER_PAGE", 2)
    staff = make_user(is_staff=True)
    made = [open_request() for _ in range(3)]
    for conversation in made:
        support_assign(conversation=conversation, by=staff)
    client.force_login(staff)

    first = client.get(STAFF_INBOX, {"show": "mine"})
    second = client.get(STAFF_INBOX, {"show": "mine", "page": "2"})

    assert len(rows(first)) == 2 and len(rows(second)) == 1
    assert set(rows(first)) | set(rows(second)) == {conversation.pk for conversation in made}
    assert 'href="?show=mine&amp;page=2"' in first.content.decode()
    assert 'href="?show=mine&amp;page=1"' in second.content.decode()
    assert 'href="?show=open"' in second.content.decode()  # another filter starts on its first page


@pytest.mark.parametrize("number", ["abc", "0", "999", ""])
def test_staff_inbox_page_numbers_out_of_range_or_not_numbers_show_a_page(client, monkeypatch, number):
    monkeypatch.setattr("messaging.support_views.STAFF_INBOX_PER_PAGE", 1)
    open_request()
    open_request()
    client.force_login(make_user(is_staff=True))

    response = client.get(STAFF_INBOX, {"page": number})

    assert response.status_code == 200 and len(rows(response)) == 1


def test_the_staff_inbox_runs_the_same_queries_for_one_request_or_a_full_page(client):
    staff = make_user(is_staff=True)
    support_assign(conversation=open_request(), by=staff)
    client.force_login(staff)
    client.get(STAFF_INBOX)
    one = query_count(client, STAFF_INBOX)

    for n in range(60):  # more than a page, assigned or not
        conversation = open_request()
        if n % 2:
            support_assign(conversation=conversation, by=make_user(is_staff=True))

    assert query_count(client, STAFF_INBOX) == one
    assert query_count(client, STAFF_INBOX, {"page": "2"}) == one


def test_one_s_own_support_requests_are_paged(client, monkeypatch):
    monkeypatch.setattr("messaging.support_views.REQUESTS_PER_PAGE", 2)
    me, staff = make_user(), make_user(is_staff=True)
    made = []
    for n in range(3):
        conversation = support_request_open(user=me, body=f"Question number {n} about my order").conversation
        support_close(conversation=conversation, by=staff)
        made.append(conversation.pk)
    client.force_login(me)

    first = client.get(reverse("messaging:support"))
    later = client.get(reverse("messaging:support"), {"page": "9"})  # past the end: the last page

    assert [c.pk for c in first.context["requests"]] == made[:0:-1]
    assert "Page 1 of 2" in first.text
    assert [c.pk for c in later.context["requests"]] == made[:1]

"""Who may read a conversation and its files: participants; staff for support and dispute
threads only (not direct or order ones); nobody else (404, the same answer as for an id
that does not exist)."""

import pytest
from django.urls import reverse

from accounts.tests.helpers import make_user
from messaging.models import Attachment, Conversation, Message
from messaging.services import conversation_for_dispute, conversation_for_order, message_send, support_request_open
from messaging.tests.helpers import make_direct, stl_upload
from orders.tests.helpers import make_order

pytestmark = pytest.mark.django_db
K = Conversation.Kind


def build(kind):
    """A conversation of this kind with one message carrying an STL; returns (conversation, participants)."""
    if kind == K.DIRECT:
        conversation, sender, recipient = make_direct(files=[stl_upload()])
        return conversation, [sender, recipient]
    if kind == K.SUPPORT:
        user = make_user()
        return support_request_open(user=user, body="Help please", files=[stl_upload()]).conversation, [user]
    order = make_order()
    if kind == K.ORDER:
        conversation = conversation_for_order(order=order)
    else:
        conversation = conversation_for_dispute(order=order, dispute_id=order.pk)
    message_send(conversation=conversation, sender=order.employer, body="See the scan", files=[stl_upload()])
    return conversation, [order.employer, order.freelancer]


def read_urls(conversation):
    attachment = Attachment.objects.get(message__conversation=conversation)
    return [
        reverse("messaging:poll", args=[conversation.pk]) + "?after=0",
        reverse("messaging:download", args=[conversation.pk, attachment.pk]),
        reverse("messaging:download", args=[conversation.pk, attachment.pk]) + "?inline=1",
    ]


def page_url(conversation):
    if conversation.kind == K.SUPPORT:
        return reverse("messaging:support_detail", args=[conversation.pk])
    if conversation.kind == K.ORDER:
        return reverse("orders:detail", args=[conversation.order_id])
    return reverse("messaging:conversation", args=[conversation.pk])


STAFF_READS = {K.DIRECT: False, K.ORDER: False, K.SUPPORT: True, K.DISPUTE: True}


@pytest.mark.parametrize("kind", list(K))
def test_participants_read_the_conversation_and_download_its_files(client, kind):
    conversation, participants = build(kind)
    for user in participants:
        client.force_login(user)
        page = client.get(page_url(conversation))
        assert page.status_code == 200
        assert "stl" in page.content.decode()
        for url in read_urls(conversation):
            assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("kind", list(K))
def test_other_users_get_404_everywhere(client, kind):
    conversation, _ = build(kind)
    client.force_login(make_user())

    assert client.get(page_url(conversation)).status_code == 404
    for url in read_urls(conversation):
        assert client.get(url).status_code == 404, url
    response = client.post(reverse("messaging:send", args=[conversation.pk]), {"body": "let me in"})
    assert response.status_code == 404
    assert not Message.objects.filter(body="let me in").exists()


@pytest.mark.parametrize("kind", list(K))
def test_staff_read_support_and_dispute_threads_only(client, kind):
    conversation, _ = build(kind)
    client.force_login(make_user(is_staff=True))

    expected = 200 if STAFF_READS[kind] else 404
    if kind == K.ORDER:  # staff see the order page, without its conversation
        page = client.get(page_url(conversation))
        assert page.status_code == 200 and "See the scan" not in page.text
        assert client.get(reverse("messaging:conversation", args=[conversation.pk])).status_code == 404
    else:
        assert client.get(page_url(conversation)).status_code == expected
    for url in read_urls(conversation):
        assert client.get(url).status_code == expected, url


@pytest.mark.parametrize("kind", list(K))
def test_anonymous_visitors_are_sent_to_sign_in_whether_the_conversation_exists_or_not(client, kind):
    conversation, _ = build(kind)
    missing = reverse("messaging:poll", args=[conversation.pk + 1000])

    for url in [*read_urls(conversation), missing]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_a_signed_out_htmx_poll_is_told_to_stop(client):
    conversation, _ = build(K.DIRECT)

    poll = client.get(reverse("messaging:poll", args=[conversation.pk]), headers={"HX-Request": "true"})
    inbox = client.get(reverse("messaging:inbox"), headers={"HX-Request": "true"})

    assert poll.status_code == inbox.status_code == 286
    assert poll.content == inbox.content == b""


def test_staff_cannot_write_in_an_order_thread(client):
    conversation, _ = build(K.ORDER)
    client.force_login(make_user(is_staff=True))

    response = client.post(reverse("messaging:send", args=[conversation.pk]), {"body": "Staff here"})

    assert response.status_code == 404
    assert not Message.objects.filter(body="Staff here").exists()


def test_staff_reply_in_a_dispute_thread_and_join_it(client):
    conversation, participants = build(K.DISPUTE)
    staff = make_user(is_staff=True)
    client.force_login(staff)

    client.post(reverse("messaging:send", args=[conversation.pk]), {"body": "We are looking into it."})

    assert conversation.messages.last().sender == staff
    assert set(conversation.participants.values_list("user", flat=True)) == {*(u.pk for u in participants), staff.pk}


def test_an_attachment_is_only_served_under_its_own_conversation(client):
    mine, me, _ = make_direct()
    theirs, _, _ = make_direct(files=[stl_upload()])
    foreign = Attachment.objects.get(message__conversation=theirs)
    client.force_login(me)

    assert client.get(reverse("messaging:download", args=[mine.pk, foreign.pk])).status_code == 404
    assert client.get(reverse("messaging:download", args=[theirs.pk, foreign.pk])).status_code == 404


def test_tampered_ids_and_parameters_get_404_or_are_ignored(client):
    conversation, sender, _ = make_direct()
    other, _, _ = make_direct()
    client.force_login(sender)

    assert client.get(reverse("messaging:conversation", args=[other.pk])).status_code == 404
    assert client.get(reverse("messaging:conversation", args=[99999])).status_code == 404
    assert client.get(reverse("messaging:download", args=[conversation.pk, 99999])).status_code == 404
    assert client.post(reverse("messaging:block", args=[other.pk])).status_code == 404
    assert client.get(reverse("messaging:support_detail", args=[conversation.pk])).status_code == 404
    poll = client.get(reverse("messaging:poll", args=[conversation.pk]) + "?after=not-a-number")
    assert poll.status_code == 200
    assert "Hello, can you design a crown?" in poll.content.decode()


def test_downloads_are_private_and_inline_only_when_asked(client):
    conversation, sender, _ = make_direct(files=[stl_upload("crown 46.stl")])
    attachment = Attachment.objects.get()
    client.force_login(sender)
    url = reverse("messaging:download", args=[conversation.pk, attachment.pk])

    download = client.get(url)
    inline = client.get(url + "?inline=1")

    assert download["Content-Disposition"].startswith("attachment")
    assert "crown 46.stl" in download["Content-Disposition"]
    assert download["Cache-Control"] == "private, no-store"
    assert b"".join(download.streaming_content) == attachment.file.open("rb").read()
    assert inline["Content-Disposition"].startswith("inline")


def test_the_staff_inbox_reads_support_requests_in_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    staff = make_user(is_staff=True)
    client.force_login(staff)
    for _ in range(2):
        conversation = support_request_open(user=make_user(), body="Help with my payout").conversation
        message_send(conversation=conversation, sender=staff, body="On it")
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("messaging:inbox"))
    for _ in range(4):
        conversation = support_request_open(user=make_user(), body="Help with my payout").conversation
        message_send(conversation=conversation, sender=staff, body="On it")
    with django_assert_max_num_queries(len(few)):
        client.get(reverse("messaging:inbox"))

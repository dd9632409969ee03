"""Blocking (direct conversations only) and the rate limit of 30 messages a minute."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError
from listings.tests.helpers import make_published
from messaging.models import Attachment, Block, Conversation, Message
from messaging.services import (
    RATE_LIMIT,
    conversation_for_order,
    conversation_start,
    message_send,
    support_request_open,
    user_block,
    user_unblock,
)
from messaging.tests.helpers import make_direct, reply, stl_upload
from orders.tests.helpers import make_order

pytestmark = pytest.mark.django_db


def test_a_blocked_user_can_no_longer_write_nor_start_a_conversation(client):
    conversation, pest, me = make_direct()
    client.force_login(me)
    response = client.post(reverse("messaging:block", args=[conversation.pk]), follow=True)
    assert f"You blocked {pest.display_name}." in response.content.decode()
    assert Block.objects.filter(blocker=me, blocked=pest).exists()

    client.force_login(pest)
    page = client.get(reverse("messaging:conversation", args=[conversation.pk])).content.decode()
    sent = client.post(reverse("messaging:send", args=[conversation.pk]), {"body": "Hello again"})
    with pytest.raises(ApplicationError, match="does not accept messages from you"):
        conversation_start(sender=pest, recipient=me)

    assert f"{me.display_name} does not accept messages from you." in page
    assert 'data-testid="message-form"' in page  # the form stays; sending says why it fails
    assert f"{me.display_name} does not accept messages from you." in sent.content.decode()
    assert not Message.objects.filter(body="Hello again").exists()


def test_the_blocker_cannot_write_either_until_unblocking(client):
    conversation, other, me = make_direct()
    user_block(blocker=me, blocked=other)

    with pytest.raises(ApplicationError, match=f"You blocked {other.display_name}. Unblock them"):
        reply(conversation, me, "one more thing")

    client.force_login(me)
    response = client.post(reverse("messaging:unblock", args=[conversation.pk]), follow=True)
    assert f"You unblocked {other.display_name}." in response.content.decode()
    reply(conversation, other, "Thanks for unblocking")
    assert conversation.messages.count() == 2


def test_contacting_someone_who_blocked_you_from_their_listing_is_refused(client):
    listing = make_published()
    me = make_user()
    make_direct(me, listing.owner)
    user_block(blocker=listing.owner, blocked=me)
    client.force_login(me)

    response = client.post(reverse("messaging:contact", args=[listing.pk]), {"body": "About your listing"})

    assert f"{listing.owner.display_name} does not accept messages from you." in response.content.decode()
    assert not Conversation.objects.filter(listing=listing).exists()


def test_blocks_do_not_silence_order_and_support_conversations():
    order = make_order()
    user_block(blocker=order.freelancer, blocked=order.employer)
    conversation = conversation_for_order(order=order)

    message_send(conversation=conversation, sender=order.employer, body="About the order")
    support = support_request_open(user=order.employer, body="I was blocked by my designer").conversation

    assert conversation.messages.count() == 1
    assert support.messages.count() == 1


def test_staff_cannot_be_blocked_and_blocking_only_applies_to_direct_conversations(client):
    with pytest.raises(ApplicationError, match=r"The support team cannot be blocked\."):
        user_block(blocker=make_user(), blocked=make_user(is_staff=True))
    user = make_user()
    with pytest.raises(ApplicationError, match=r"You cannot block yourself\."):
        user_block(blocker=user, blocked=user)
    order = make_order()
    client.force_login(order.employer)
    conversation = conversation_for_order(order=order)
    assert client.post(reverse("messaging:block", args=[conversation.pk])).status_code == 404
    assert not Block.objects.exists()
    user_unblock(blocker=user, blocked=order.employer)  # nothing to undo: no error


def test_the_31st_message_in_a_minute_is_refused_and_nothing_is_saved(client):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        conversation, me, other = make_direct()
        for n in range(RATE_LIMIT - 1):
            reply(conversation, me, f"message {n}")
        assert Message.objects.filter(sender=me).count() == RATE_LIMIT
        client.force_login(me)

        response = client.post(
            reverse("messaging:send", args=[conversation.pk]), {"body": "one too many", "files": [stl_upload()]}
        )

    assert "You are sending messages too fast: at most 30 a minute." in response.content.decode()
    assert not Message.objects.filter(body="one too many").exists()
    assert not Attachment.objects.exists()
    assert "one too many" in response.content.decode()  # the text stays in the form
    reply(conversation, other, "the other person is not limited")

    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        reply(conversation, me, "a minute later it goes through")


def test_the_rate_limit_counts_all_conversations_of_the_sender():
    me = make_user()
    with time_machine.travel(timezone.now(), tick=False):
        for _ in range(RATE_LIMIT // 2):
            make_direct(me, body="hi")
        conversation, _, _ = make_direct(me, body="hi")
        for _ in range(RATE_LIMIT // 2 - 1):
            reply(conversation, me, "again")
        with pytest.raises(ApplicationError, match="too fast"):
            make_direct(me, body="one more person")
    assert Message.objects.filter(sender=me).count() == RATE_LIMIT

"""E-mail about unread messages: batched per conversation and recipient (at most one every
15 minutes), never for what was read in time, never when turned off."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.tests.helpers import make_user
from messaging.services import conversation_mark_read, preference_set, unread_notifications_send
from messaging.tasks import send_unread_notifications
from messaging.tests.helpers import make_direct, reply, stl_upload

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def at(minutes: float):
    return time_machine.travel(START + dt.timedelta(minutes=minutes), tick=False)


def sweep(capture) -> int:
    with capture(execute=True):
        return unread_notifications_send(now=timezone.now())


def test_one_email_per_conversation_every_15_minutes_for_unread_messages(django_capture_on_commit_callbacks):
    with at(0):
        conversation, alice, bob = make_direct(body="Can you do tooth 46 by Friday?", files=[stl_upload()])
    with at(1):
        assert sweep(django_capture_on_commit_callbacks) == 0  # a short grace: bob may be reading now
    with at(3):
        assert sweep(django_capture_on_commit_callbacks) == 1
    [email] = mail.outbox
    assert email.to == [bob.email]
    assert email.subject == f"[CadCam Masters] New message from {alice.display_name}"
    assert "Can you do tooth 46 by Friday?" in email.body
    assert "(1 file attached)" in email.body
    assert f"/messages/{conversation.pk}/" in email.body

    with at(4):
        reply(conversation, alice, "Also tooth 47.")
        reply(conversation, alice, "And 36.")
    with at(10):
        assert sweep(django_capture_on_commit_callbacks) == 0  # 15 minutes have not passed
    with at(17):
        assert sweep(django_capture_on_commit_callbacks) == 0
    with at(18):
        assert sweep(django_capture_on_commit_callbacks) == 1
    second = mail.outbox[1]
    assert second.subject == f"[CadCam Masters] 3 unread messages from {alice.display_name}"
    assert "Also tooth 47." in second.body and "And 36." in second.body
    assert "Can you do tooth 46" not in second.body  # already e-mailed about

    with at(40):
        assert sweep(django_capture_on_commit_callbacks) == 0  # nothing new since
    assert len(mail.outbox) == 2
    assert not [m for m in mail.outbox if alice.email in m.to]  # never about one's own messages


def test_messages_read_in_time_are_never_emailed(django_capture_on_commit_callbacks):
    with at(0):
        conversation, _, bob = make_direct()
    with at(1):
        conversation_mark_read(conversation=conversation, user=bob)
    with at(30):
        assert sweep(django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []


def test_each_conversation_is_batched_on_its_own(django_capture_on_commit_callbacks):
    bob = make_user()
    with at(0):
        make_direct(recipient=bob)
        make_direct(recipient=bob)
    with at(3):
        assert sweep(django_capture_on_commit_callbacks) == 2
    assert [m.to for m in mail.outbox] == [[bob.email], [bob.email]]


def test_a_second_sweep_at_the_same_time_sends_nothing_more(django_capture_on_commit_callbacks):
    with at(0):
        make_direct()
    with at(3), django_capture_on_commit_callbacks(execute=True):
        assert send_unread_notifications.delay().get() == 1
        assert send_unread_notifications.delay().get() == 0
    assert len(mail.outbox) == 1


def test_the_preference_turns_the_emails_off_and_on(client, django_capture_on_commit_callbacks):
    bob = make_user()
    client.force_login(bob)
    response = client.post(reverse("messaging:preferences"), {}, follow=True)  # the box unticked
    assert "You will not get e-mails about unread messages." in response.content.decode()
    with at(0):
        conversation, alice, _ = make_direct(recipient=bob)
    with at(20):
        assert sweep(django_capture_on_commit_callbacks) == 0

    preference_set(user=bob, email_unread=True)
    with at(21):
        reply(conversation, alice, "Did you see this?")
    with at(24):
        assert sweep(django_capture_on_commit_callbacks) == 1
    assert "Did you see this?" in mail.outbox[0].body
    page = client.get(reverse("messaging:inbox")).content.decode()
    assert 'id="id_email_unread" checked' in page

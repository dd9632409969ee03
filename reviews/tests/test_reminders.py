"""Reminder e-mails 3 and 10 days after the order ended, once each, only to those who have
not reviewed, and never after the window."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from reviews.models import ReviewReminder
from reviews.services import review_create, review_reminders_send
from reviews.tasks import run_review_sweep
from reviews.tests.helpers import GOOD, completed_order

pytestmark = pytest.mark.django_db


def reminders_after(order, days, capture, *, hours=1):
    mail.outbox.clear()
    with time_machine.travel(order.ended_at + dt.timedelta(days=days, hours=hours)), capture(execute=True):
        run_review_sweep.delay()
    return sorted((message.to[0], message.subject.removeprefix("[CadCam Masters] ")) for message in mail.outbox)


def test_both_parties_are_reminded_on_day_3_and_day_10_once_each(django_capture_on_commit_callbacks):
    order = completed_order()
    employer, designer = order.employer.email, order.freelancer.email
    day_3 = f"How did it go? Order #{order.pk}: {order.title}"
    day_10 = f"Last days to review Order #{order.pk}: {order.title}"

    assert reminders_after(order, 2, django_capture_on_commit_callbacks) == []
    assert reminders_after(order, 3, django_capture_on_commit_callbacks) == sorted(
        [(employer, day_3), (designer, day_3)]
    )
    assert reminders_after(order, 4, django_capture_on_commit_callbacks) == []
    assert reminders_after(order, 10, django_capture_on_commit_callbacks) == sorted(
        [(employer, day_10), (designer, day_10)]
    )
    assert reminders_after(order, 11, django_capture_on_commit_callbacks) == []
    assert reminders_after(order, 14, django_capture_on_commit_callbacks) == []
    assert ReviewReminder.objects.filter(order=order).count() == 4


def test_who_has_reviewed_is_not_reminded(django_capture_on_commit_callbacks):
    order = completed_order()
    review_create(order=order, author=order.employer, rating=5, comment=GOOD)

    sent = reminders_after(order, 3, django_capture_on_commit_callbacks)

    assert [to for to, _ in sent] == [order.freelancer.email]
    body = mail.outbox[0].body
    assert f"/orders/{order.pk}/" in body and "your client" in body


def test_nobody_is_reminded_once_both_reviewed(django_capture_on_commit_callbacks):
    order = completed_order()
    review_create(order=order, author=order.employer, rating=5, comment=GOOD)
    review_create(order=order, author=order.freelancer, rating=5, comment=GOOD)

    assert reminders_after(order, 3, django_capture_on_commit_callbacks) == []
    assert reminders_after(order, 10, django_capture_on_commit_callbacks) == []


def test_a_missed_day_3_reminder_is_not_sent_late(django_capture_on_commit_callbacks):
    order = completed_order()

    sent = reminders_after(order, 10, django_capture_on_commit_callbacks)

    assert [subject.split(" Order")[0] for _, subject in sent] == ["Last days to review"] * 2
    assert set(ReviewReminder.objects.values_list("day", flat=True)) == {10}


def test_running_the_reminders_twice_sends_them_once():
    order = completed_order()
    later = order.ended_at + dt.timedelta(days=3, hours=1)

    first = review_reminders_send(now=later)
    second = review_reminders_send(now=later)

    assert len(first) == 2 and second == []

"""The reviewed person hears about a review when it becomes public, with a link to answer it
(issue 18): once, never while the review is still blind."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from accounts.services import user_suspend
from accounts.tests.helpers import make_user
from reviews.services import review_create, reviews_sweep
from reviews.tests.helpers import GOOD, completed_order

pytestmark = pytest.mark.django_db

THANKS = "Clear instructions and good scans, a pleasure to work with."


def sent(capture, action) -> list:
    mail.outbox.clear()
    with capture(execute=True):
        action()
    return [message for message in mail.outbox if "reviewed you" in message.subject]


def test_when_both_have_reviewed_each_hears_what_the_other_wrote(django_capture_on_commit_callbacks):
    order = completed_order()

    first = sent(django_capture_on_commit_callbacks,
                 lambda: review_create(order=order, author=order.employer, rating=4, comment=GOOD))
    both = sent(django_capture_on_commit_callbacks,
                lambda: review_create(order=order, author=order.freelancer, rating=5, comment=THANKS))

    assert first == []  # still blind: nobody is told anything
    by_recipient = {message.to[0]: message for message in both}
    assert set(by_recipient) == {order.employer.email, order.freelancer.email}
    to_designer = by_recipient[order.freelancer.email]
    assert to_designer.subject.endswith(f"{order.employer.display_name} reviewed you: 4 stars for order #{order.pk}")
    assert GOOD in to_designer.body and THANKS not in to_designer.body
    reply_link = reverse("orders:detail", args=[order.pk]) + "#order-reviews"
    assert reply_link in to_designer.body and reply_link in to_designer.alternatives[0][0]
    assert THANKS in by_recipient[order.employer.email].body


def test_a_lone_review_is_told_when_the_window_ends_and_only_once(django_capture_on_commit_callbacks):
    order = completed_order()
    review_create(order=order, author=order.freelancer, rating=5, comment=THANKS)
    closes = order.completed_at + dt.timedelta(days=14)

    with time_machine.travel(closes + dt.timedelta(minutes=5)):
        revealed = sent(django_capture_on_commit_callbacks, reviews_sweep)
        again = sent(django_capture_on_commit_callbacks, reviews_sweep)

    assert [message.to for message in revealed] == [[order.employer.email]]
    assert again == []


def test_a_suspended_person_is_not_e_mailed(django_capture_on_commit_callbacks):
    order = completed_order()
    review_create(order=order, author=order.employer, rating=4, comment=GOOD)
    user_suspend(user=order.freelancer, by=make_user(is_staff=True), reason="Chargebacks.")

    told = sent(django_capture_on_commit_callbacks,
                lambda: review_create(order=order, author=order.freelancer, rating=5, comment=THANKS))

    assert [message.to for message in told] == [[order.employer.email]]

"""The deadline sweep's e-mails when two senders meet: the sweep's lock can lapse (it expires
LOCK_SECONDS after the last chunk or page task started; a Celery backlog is enough) while a
page of e-mails is still being sent, and the next beat's sweep then sends the same recipients'
notices. `_send_to` reads the unsent notices without locking them, so both send them."""

import datetime as dt
import threading
from collections import Counter

import pytest
from django.db import connection

from accounts.tests.helpers import make_user
from listings.tests.helpers import make_published
from orders import notices
from orders.models import Order, OrderNotice
from orders.sweep_services import orders_expire_due
from orders.tasks import send_deadline_notices
from orders.tests.helpers import make_order

S = Order.Status


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_email_each_recipients_notices_once(monkeypatch):
    listing, client = make_published(), make_user()
    orders = [make_order(listing=listing, employer=client) for _ in range(2)]
    later = max(order.accept_by for order in orders) + dt.timedelta(minutes=1)
    orders_expire_due(due=Order.objects.all(), now=later, limit=100)  # records the notices
    assert OrderNotice.objects.filter(sent_at__isnull=True).count() == 4

    sent = Counter()
    inside, go_on = threading.Event(), threading.Event()
    real = notices.send_templated_email

    def slow_send(*, to, **kwargs):
        sent[to] += 1
        if threading.current_thread() is not threading.main_thread() and not inside.is_set():
            inside.set()  # the first sender has read the notices and is e-mailing
            go_on.wait(10)
        real(to=to, **kwargs)

    monkeypatch.setattr(notices, "send_templated_email", slow_send)

    def first_sender():
        try:
            notices.order_notices_send()
        finally:
            connection.close()

    thread = threading.Thread(target=first_sender)
    thread.start()
    assert inside.wait(10)
    second = threading.Thread(target=lambda: (notices.order_notices_send(), connection.close()))
    second.start()
    second.join(3)  # a sender that waits for the first one's rows is fine too
    go_on.set()
    thread.join(30)
    second.join(30)

    assert sent == {client.email: 1, listing.owner.email: 1}


@pytest.mark.django_db
def test_a_page_of_emails_whose_sweep_lost_its_lock_sends_nothing(django_capture_on_commit_callbacks):
    """send_deadline_notices renews the lock and ignores the answer: a page of a sweep whose
    lock lapsed (another sweep may hold it and be e-mailing the same recipients) still sends."""
    order = make_order()
    later = order.accept_by + dt.timedelta(minutes=1)
    orders_expire_due(due=Order.objects.all(), now=later, limit=100)

    with django_capture_on_commit_callbacks(execute=True):
        emails = send_deadline_notices(first=1, last=None, token="a-lock-this-sweep-no-longer-holds")

    assert emails == 0

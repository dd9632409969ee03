"""The daily reconciliation (beat `reconcile-daily`) e-mails staff what differs."""

import pytest
from django.core import mail

from accounts.tests.helpers import make_user
from orders.tests.helpers import make_order
from payments.models import LedgerEntry
from payments.tasks import reconcile_daily

pytestmark = pytest.mark.django_db


def test_the_daily_reconciliation_emails_staff_what_differs(django_capture_on_commit_callbacks):
    staff = make_user(is_staff=True)
    order = make_order()
    LedgerEntry.objects.filter(order=order, kind=LedgerEntry.Kind.AUTHORIZED).delete()

    with django_capture_on_commit_callbacks(execute=True):
        result = reconcile_daily.run()

    assert result["problems"] >= 1
    (message,) = [m for m in mail.outbox if staff.email in m.to]
    assert "Reconciliation found" in message.subject
    assert f"Order #{order.pk}" in message.body and "authorized 0" in message.body


def test_a_clean_day_sends_nothing(django_capture_on_commit_callbacks):
    make_user(is_staff=True)
    make_order()

    with django_capture_on_commit_callbacks(execute=True):
        assert reconcile_daily.run()["problems"] == 0

    assert not [m for m in mail.outbox if "Reconciliation" in m.subject]

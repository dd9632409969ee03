"""E-mail about orders: rendered from templates, subjects as plain text."""

import pytest
from django.core import mail
from django.test import TestCase

from accounts.tests.helpers import make_user
from cadcam.emails import send_templated_email
from orders.tests.helpers import make_order

pytestmark = pytest.mark.django_db


def test_subjects_are_plain_text_not_html_escaped(settings):
    order = make_order(authorized=False)
    order.title = "Crowns & bridges for O'Brien"
    with TestCase.captureOnCommitCallbacks(execute=True):
        send_templated_email(to="lab@example.com", template="order_event",
                             context={"order": order, "event": "requested", "role": "freelancer",
                                      "recipient": make_user()})
    (message,) = mail.outbox
    assert message.subject.endswith("New case for you: Crowns & bridges for O'Brien")
    assert "Crowns &amp; bridges" in message.alternatives[0][0]  # the HTML part stays escaped

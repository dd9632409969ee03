"""A staff member who answered a dispute or support thread has a seat in it; that seat counts
only while they act as staff (messaging.selectors._seats_of). A later session with the
password alone reads, downloads from and writes in none of those threads."""

import pytest
from django.urls import reverse

from accounts.tests.helpers import make_user, sign_in_with_mfa
from cadcam.errors import ApplicationError
from disputes.tests.helpers import make_disputed
from messaging.models import Conversation, Message
from messaging.selectors import unread_total
from messaging.services import message_send, support_request_open
from orders.tests.helpers import stl_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def need_mfa(settings):
    settings.ADMIN_REQUIRES_MFA = True
    return settings


def _dispute_thread_answered_by(staff):
    order, _ = make_disputed()
    thread = Conversation.objects.get(kind=Conversation.Kind.DISPUTE, order=order)
    message_send(conversation=thread, sender=order.employer, body="Photos", files=[stl_upload("scan.stl")])
    # Staff answered earlier, in a session with the second factor (acting outside a request: trusted).
    message_send(conversation=thread, sender=staff, body="We are looking into it.")
    return thread


def test_password_only_staff_cannot_read_a_dispute_thread_they_answered_before(client, need_mfa):
    staff = make_user(is_staff=True)
    thread = _dispute_thread_answered_by(staff)
    attachment = thread.messages.filter(attachments__isnull=False).first().attachments.first()

    client.force_login(staff)  # password only: no "mfa" record in the session
    answers = {
        "thread": client.get(reverse("messaging:conversation", args=[thread.pk])).status_code,
        "file": client.get(reverse("messaging:download", args=[thread.pk, attachment.pk])).status_code,
        "poll": client.get(reverse("messaging:poll", args=[thread.pk])).status_code,
    }
    assert answers == {"thread": 404, "file": 404, "poll": 404}


def test_password_only_staff_cannot_write_in_a_dispute_thread_they_answered_before(client, need_mfa):
    staff = make_user(is_staff=True)
    thread = _dispute_thread_answered_by(staff)
    before = Message.objects.filter(conversation=thread).count()

    client.force_login(staff)
    client.post(reverse("messaging:send", args=[thread.pk]), {"body": "Refund approved, trust me."})

    assert Message.objects.filter(conversation=thread).count() == before


def test_password_only_staff_cannot_read_a_support_request_they_answered_before(client, need_mfa):
    staff = make_user(is_staff=True)
    customer = make_user()
    first = support_request_open(user=customer, body="My payout is missing, IBAN DE89 3704 0044 0532 0130 00")
    message_send(conversation=first.conversation, sender=staff, body="Checking.")

    client.force_login(staff)
    response = client.get(reverse("messaging:support_detail", args=[first.conversation.pk]))

    assert response.status_code == 404


def test_control_staff_with_mfa_still_reads_it(client, need_mfa):
    """Sanity: with the second factor the same pages open (so the tests above test the seat)."""
    staff = make_user(is_staff=True)
    thread = _dispute_thread_answered_by(staff)
    sign_in_with_mfa(client, staff)
    assert client.get(reverse("messaging:conversation", args=[thread.pk])).status_code == 200


def test_threads_answered_as_staff_leave_the_inbox_and_badge_of_a_password_only_session(client, need_mfa):
    staff = make_user(is_staff=True)
    thread = _dispute_thread_answered_by(staff)
    message_send(conversation=thread, sender=thread.order.employer, body="Any news?")

    client.force_login(staff)
    inbox = client.get(reverse("messaging:inbox")).content.decode()

    assert thread.title_for(staff) not in inbox and "Any news?" not in inbox
    assert unread_total(client.get("/").wsgi_request.user) == 0
    sign_in_with_mfa(client, staff)
    assert "Any news?" in client.get(reverse("messaging:inbox")).content.decode()


def test_someone_no_longer_staff_keeps_no_seat_in_threads_answered_as_staff(client):
    former = make_user(is_staff=True)
    thread = _dispute_thread_answered_by(former)
    former.is_staff = False
    former.save(update_fields=["is_staff"])
    client.force_login(former)

    assert client.get(reverse("messaging:conversation", args=[thread.pk])).status_code == 404
    with pytest.raises(ApplicationError):
        message_send(conversation=thread, sender=former, body="Still here")

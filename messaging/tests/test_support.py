"""Support chat: users open requests; staff answer from their own inbox, assign, close, reopen."""

import pytest
from django.urls import reverse

from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError
from messaging.models import Conversation, Message
from messaging.services import support_assign, support_close, support_reopen, support_request_open

pytestmark = pytest.mark.django_db
S = Conversation.Status


def open_request(user=None, body="How do I get a monthly invoice?"):
    user = user or make_user()
    return support_request_open(user=user, body=body).conversation


def test_a_user_opens_a_request_and_staff_answer_it(client):
    user, staff = make_user(), make_user(is_staff=True)
    client.force_login(user)

    response = client.post(reverse("messaging:support"), {"body": "My payout is late", "hide_patient_data": "on"})
    conversation = Conversation.objects.get(kind=Conversation.Kind.SUPPORT)
    assert response["Location"] == reverse("messaging:support_detail", args=[conversation.pk])
    assert "Your request #" in client.get(reverse("messaging:support")).content.decode()

    client.force_login(staff)
    inbox = client.get(reverse("messaging:staff_inbox")).content.decode()
    assert f"Request #{conversation.pk}" in inbox and "Waiting for us" in inbox
    client.post(reverse("messaging:send", args=[conversation.pk]), {"body": "It goes out tomorrow."})

    client.force_login(user)
    page = client.get(reverse("messaging:support_detail", args=[conversation.pk])).content.decode()
    assert "It goes out tomorrow." in page
    assert "CadCam Masters team" in page


def test_non_staff_get_404_on_the_staff_inbox_and_actions(client):
    conversation = open_request()
    client.force_login(conversation.started_by)

    assert client.get(reverse("messaging:staff_inbox")).status_code == 404
    for action in ("assign", "close", "reopen"):
        assert client.post(reverse("messaging:staff_act", args=[conversation.pk, action])).status_code == 404
    conversation.refresh_from_db()
    assert conversation.status == S.OPEN and conversation.assigned_to is None


def test_staff_assign_close_and_reopen(client):
    conversation = open_request()
    staff = make_user(is_staff=True)
    client.force_login(staff)

    assigned = client.post(reverse("messaging:staff_act", args=[conversation.pk, "assign"]), follow=True)
    assert "The request is assigned to you." in assigned.content.decode()
    closed = client.post(reverse("messaging:staff_act", args=[conversation.pk, "close"]), follow=True)
    assert "The request is closed." in closed.content.decode()
    conversation.refresh_from_db()
    assert (conversation.status, conversation.assigned_to, conversation.closed_by) == (S.CLOSED, staff, staff)

    again = client.post(reverse("messaging:staff_act", args=[conversation.pk, "close"]), follow=True)
    assert "This support request is already closed." in again.content.decode()
    reopened = client.post(reverse("messaging:staff_act", args=[conversation.pk, "reopen"]), follow=True)
    assert "The request is open again." in reopened.content.decode()
    conversation.refresh_from_db()
    assert conversation.status == S.OPEN and conversation.closed_at is None


def test_staff_inbox_filters_mine_unassigned_and_closed(client):
    me, colleague = make_user(is_staff=True), make_user(is_staff=True)
    mine, theirs, unassigned, closed = open_request(), open_request(), open_request(), open_request()
    support_assign(conversation=mine, by=me)
    support_assign(conversation=theirs, by=colleague)
    support_close(conversation=closed, by=colleague)
    client.force_login(me)

    def listed(show):
        context = client.get(reverse("messaging:staff_inbox"), {"show": show}).context
        return [conversation.pk for conversation in context["conversations"]]

    assert set(listed("open")) == {mine.pk, theirs.pk, unassigned.pk}
    assert listed("mine") == [mine.pk]
    assert listed("unassigned") == [unassigned.pk]
    assert listed("closed") == [closed.pk]
    assert listed("all")[-1] == closed.pk  # open ones first
    assert set(listed("nonsense")) == set(listed("open"))


def test_a_closed_request_takes_no_more_messages_and_the_user_opens_a_new_one(client):
    conversation = open_request()
    user = conversation.started_by
    with pytest.raises(ApplicationError, match="You already have an open support request"):
        support_request_open(user=user, body="Another question")
    support_close(conversation=conversation, by=make_user(is_staff=True))
    client.force_login(user)

    refused = client.post(reverse("messaging:send", args=[conversation.pk]), {"body": "One more thing"})
    assert "This support request is closed. Open a new one from the support page." in refused.content.decode()
    assert not Message.objects.filter(body="One more thing").exists()

    client.post(reverse("messaging:support"), {"body": "A new question"})
    assert Conversation.objects.filter(started_by=user, status=S.OPEN).count() == 1
    with pytest.raises(ApplicationError, match="This user has opened a newer support request"):
        support_reopen(conversation=conversation, by=make_user(is_staff=True))


def test_only_staff_assign_and_only_support_requests_are_assigned():
    conversation = open_request()
    with pytest.raises(ApplicationError, match=r"Only the support team can do that\."):
        support_assign(conversation=conversation, by=conversation.started_by)
    from messaging.tests.helpers import make_direct

    direct, _, _ = make_direct()
    with pytest.raises(ApplicationError, match=r"Only support conversations are assigned and closed\."):
        support_close(conversation=direct, by=make_user(is_staff=True))


def test_support_receipts_say_seen_when_the_team_read_it(client):
    conversation = open_request()
    staff = make_user(is_staff=True)
    client.force_login(conversation.started_by)
    page = client.get(reverse("messaging:support_detail", args=[conversation.pk])).content.decode()
    assert 'data-testid="read-receipt">Sent<' in page

    support_assign(conversation=conversation, by=staff)
    client.force_login(staff)
    client.get(reverse("messaging:support_detail", args=[conversation.pk]))

    client.force_login(conversation.started_by)
    page = client.get(reverse("messaging:support_detail", args=[conversation.pk])).content.decode()
    assert 'data-testid="read-receipt">Seen<' in page

"""Starting conversations (Contact on a listing, Message on a profile), sending messages
with attachments, and what is refused."""

from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.tests.helpers import make_user
from listings.tests.helpers import make_published
from messaging.models import Attachment, Conversation, Message
from messaging.services import message_send
from messaging.tests.helpers import make_direct, stl_upload

pytestmark = pytest.mark.django_db

CONSTRUCTION_INFO = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<ConstructionInfo><ProjectName>Smith_John</ProjectName>'
    b"<PatientFirstName>John</PatientFirstName><PatientLastName>Smith</PatientLastName>"
    b"<Teeth><Tooth><Number>36</Number><ReconstructionType>Crown</ReconstructionType>"
    b"<Material>Zirconia</Material></Tooth></Teeth></ConstructionInfo>"
)


def test_contact_from_a_listing_with_attachments_starts_one_conversation(client):
    listing = make_published(title="Zirconia crown design")
    employer = make_user()
    client.force_login(employer)
    url = reverse("messaging:contact", args=[listing.pk])

    form = client.get(url).content.decode()
    assert f"Message {listing.owner.display_name}" in form
    assert "Zirconia crown design" in form
    response = client.post(url, {
        "body": "Tooth 36, zirconia.\nCan you start Monday?",
        "files": [stl_upload("prep-36.stl"), stl_upload("antagonist.stl")],
        "hide_patient_data": "on",
    })

    conversation = Conversation.objects.get()
    assert response["Location"] == reverse("messaging:conversation", args=[conversation.pk])
    assert (conversation.kind, conversation.listing, conversation.started_by) == ("direct", listing, employer)
    message = conversation.messages.get()
    assert message.body == "Tooth 36, zirconia.\nCan you start Monday?"
    assert sorted(message.attachments.values_list("name", "hide_patient_data")) == [
        ("antagonist.stl", True), ("prep-36.stl", True)
    ]
    assert client.get(url)["Location"] == reverse("messaging:conversation", args=[conversation.pk])

    client.force_login(listing.owner)
    page = client.get(response["Location"]).content.decode()
    assert "Tooth 36, zirconia.<br>Can you start Monday?" in page
    assert "prep-36.stl" in page and "antagonist.stl" in page


def test_message_from_a_profile(client):
    designer = make_user(username="elena")
    client.force_login(make_user())

    profile = client.get(reverse("public_profile", args=["elena"])).content.decode()
    assert reverse("messaging:write_to", args=["elena"]) in profile
    response = client.post(reverse("messaging:write_to", args=["elena"]), {"body": "Hello Elena"})

    conversation = Conversation.objects.get()
    assert response["Location"] == conversation.get_absolute_url()
    assert conversation.listing is None
    assert set(conversation.participants.values_list("user", flat=True)) == {designer.pk, response.wsgi_request.user.pk}


def test_no_message_button_on_ones_own_profile_and_no_messages_to_oneself(client):
    me = make_user(username="me")
    client.force_login(me)

    profile = client.get(reverse("public_profile", args=["me"])).content.decode()
    response = client.post(reverse("messaging:write_to", args=["me"]), {"body": "Hi me"}, follow=True)

    assert reverse("messaging:write_to", args=["me"]) not in profile
    assert "You cannot send a message to yourself." in response.content.decode()
    assert not Conversation.objects.exists()


def test_contact_needs_a_verified_email_and_a_live_listing(client):
    from allauth.account.models import EmailAddress

    listing = make_published()
    user = make_user()
    EmailAddress.objects.filter(user=user).update(verified=False)
    client.force_login(user)

    response = client.post(reverse("messaging:contact", args=[listing.pk]), {"body": "Hi"})
    assert response["Location"] == reverse("account_email")
    assert client.get(reverse("messaging:contact", args=[99999])).status_code == 404
    assert not Conversation.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"body": ""}, "Write a message or attach a file."),
        ({"body": "   \n  "}, "Write a message or attach a file."),
        ({"body": "x" * 5001}, "Ensure this value has at most 5000 characters (it has 5001)."),
        ({"body": "See file", "files": [SimpleUploadedFile("virus.exe", b"MZ\x90\x00")]},
         "virus.exe is not an accepted file type."),
        ({"body": "See file", "files": [SimpleUploadedFile("scan.stl", b"not a mesh at all")]},
         "The content of scan.stl does not match its file type."),
        ({"body": "See file", "files": [SimpleUploadedFile("photo.png", b"\x89PNG broken")]},
         "The content of photo.png does not match its file type."),
        ({"body": "See files", "files": [stl_upload("ok.stl"), SimpleUploadedFile("empty.pdf", b"")]},
         "The submitted file is empty."),
    ],
)
def test_bad_messages_and_attachments_are_refused_and_nothing_is_saved(client, data, message):
    conversation, sender, _ = make_direct()
    client.force_login(sender)

    response = client.post(reverse("messaging:send", args=[conversation.pk]), data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert conversation.messages.count() == 1
    assert not Attachment.objects.exists()


def test_oversize_attachments_are_refused_before_being_stored(client, settings):
    settings.FILE_UPLOAD_PER_FILE_LIMIT = 1000
    conversation, sender, _ = make_direct()
    client.force_login(sender)

    response = client.post(reverse("messaging:send", args=[conversation.pk]), {"files": [stl_upload(triangles=40)]})

    body = response.content.decode()
    assert "crown.stl is larger than 1000\xa0bytes." in body
    assert "Write a message or attach a file." not in body
    assert conversation.messages.count() == 1


def test_at_most_ten_files_per_message(client):
    conversation, sender, _ = make_direct()
    client.force_login(sender)

    files = [stl_upload(f"tooth-{n}.stl") for n in range(11)]
    response = client.post(reverse("messaging:send", args=[conversation.pk]), {"body": "all", "files": files})

    assert "Attach at most 10 files to one message." in response.content.decode()
    assert not Attachment.objects.exists()


def test_files_attached_by_one_account_in_a_day_have_a_quota(client, settings):
    """Conversations and dispute threads share it: what one account attaches in 24 hours."""
    size = stl_upload().size
    settings.MESSAGE_FILES_DAILY_QUOTA_BYTES = 3 * size
    conversation, sender, _ = make_direct()
    client.force_login(sender)
    url = reverse("messaging:send", args=[conversation.pk])
    client.post(url, {"body": "first two", "files": [stl_upload("a.stl"), stl_upload("b.stl")]})

    response = client.post(url, {"body": "two more", "files": [stl_upload("c.stl"), stl_upload("d.stl")]})

    assert "The files you attached in the last 24 hours hold 268\xa0bytes of files" in response.content.decode()
    assert Attachment.objects.count() == 2
    assert not conversation.messages.filter(body="two more").exists()
    message_send(conversation=conversation, sender=sender, body="text needs no quota")
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        message_send(conversation=conversation, sender=sender, body="next day", files=[stl_upload("c.stl")])
    assert Attachment.objects.count() == 3


def test_text_is_escaped_line_breaks_kept_and_links_not_clickable(client):
    conversation, _, recipient = make_direct(
        body='<script>alert(1)</script>\nVisit https://phish.example/login or <a href="https://x.example">here</a>'
    )
    client.force_login(recipient)

    page = client.get(reverse("messaging:conversation", args=[conversation.pk])).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>Visit https://phish.example/login" in page
    assert "<script>alert(1)" not in page
    assert 'href="https://phish.example' not in page and 'href="https://x.example' not in page


def test_a_message_with_only_files_and_patient_data_shown(client):
    conversation, sender, _ = make_direct()
    client.force_login(sender)

    client.post(reverse("messaging:send", args=[conversation.pk]), {"body": "", "files": [stl_upload()]})

    attachment = Attachment.objects.get()
    assert attachment.message.body == ""
    assert attachment.hide_patient_data is False  # the box was left unticked


def test_construction_info_summary_hides_patient_data_as_the_sender_chose(client):
    conversation, sender, recipient = make_direct()
    message_send(conversation=conversation, sender=sender, body="Project file",
                 files=[SimpleUploadedFile("case.constructionInfo", CONSTRUCTION_INFO)], hide_patient_data=True)
    attachment = Attachment.objects.get()
    url = reverse("messaging:attachment_summary", args=[conversation.pk, attachment.pk])

    client.force_login(recipient)
    page = client.get(url, headers={"HX-Request": "true"}).content.decode()
    thread = client.get(reverse("messaging:conversation", args=[conversation.pk])).content.decode()
    assert "Zirconia" in page
    assert "John" not in page and "Patient data hidden by the sender." in page
    assert url in thread

    client.force_login(sender)
    assert "John" in client.get(url, headers={"HX-Request": "true"}).content.decode()
    client.force_login(make_user())
    assert client.get(url).status_code == 404


def test_a_deleted_or_inactive_account_cannot_be_written_to(client):
    conversation, sender, recipient = make_direct()
    recipient.is_active = False
    recipient.save(update_fields=["is_active"])
    client.force_login(sender)

    response = client.post(reverse("messaging:send", args=[conversation.pk]), {"body": "Still there?"})

    assert "This account is not active: it cannot receive messages." in response.content.decode()
    assert not Message.objects.filter(body="Still there?").exists()

import pytest

from accounts.demo import seed_users
from cadcam.files import check_case_file
from listings.demo import seed_listings
from messaging.demo import seed_messages
from messaging.models import Attachment, Conversation, Message

pytestmark = pytest.mark.django_db


def test_demo_messages_are_seeded_once_with_an_stl_and_an_open_support_request():
    users = seed_users()
    seed_listings(users)

    direct, support = seed_messages(users)
    counts = (Conversation.objects.count(), Message.objects.count(), Attachment.objects.count())
    assert seed_messages(users) == [direct, support]

    assert (Conversation.objects.count(), Message.objects.count(), Attachment.objects.count()) == counts == (2, 3, 1)
    assert direct.kind == "direct" and direct.listing.owner == users["freelancer"]
    assert {p.user.username for p in direct.participants.all()} == {"employer", "freelancer"}
    stl = Attachment.objects.get()
    assert stl.name == "prep-46.stl"
    with stl.file.open("rb") as handle:
        check_case_file(handle)
    assert (support.kind, support.status, support.started_by) == ("support", "open", users["employer"])

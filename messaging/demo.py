"""Demo conversations for `make run` (called from cadcam/management/commands/seed_demo.py).

The demo lab (@employer) asks the demo designer (@freelancer) about her crown listing
before sending a case, with a preparation scan (a generated binary STL) attached, and she
answers; the demo lab also has an open support request waiting for the team. Everything
goes through messaging/services.py. Running it again creates nothing new: the direct
conversation is found by its key, the support request by its author."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from listings.models import Listing
from messaging.models import Conversation, direct_key
from messaging.services import conversation_start, message_send, support_request_open
from orders.demo import CROWNS, MOLAR, dental_stl, die

QUESTION = (
    "Hello Elena,\n"
    "before I send the case: tooth 46, monolithic zirconia crown, shade A3. The preparation is "
    "a bit short (about 4 mm), so I would like your opinion on retention.\n"
    "The preparation scan is attached."
)
ANSWER = (
    "Hi! Thanks for the scan. 4 mm is workable for zirconia: I would keep the axial walls as they "
    "are and add a slightly deeper occlusal anatomy for thickness.\n"
    "Send the case when you are ready, with the antagonist scan if you have it."
)
SUPPORT_QUESTION = (
    "Hello support team,\n"
    "can I get one invoice per month for all our orders instead of one per order? "
    "Our accountant asks for it."
)


def seed_messages(users: dict[str, User]) -> list[Conversation]:
    """Create the demo conversations that do not exist yet; return both."""
    employer, freelancer = users["employer"], users["freelancer"]
    listing = Listing.objects.get(owner=freelancer, title=CROWNS, edit_of__isnull=True, is_private=False)
    direct = Conversation.objects.filter(key=direct_key(employer, freelancer, listing=listing)).first()
    if direct is None or not direct.messages.exists():
        direct = _direct(employer=employer, freelancer=freelancer, listing=listing)
    support = Conversation.objects.filter(kind=Conversation.Kind.SUPPORT, started_by=employer).first()
    if support is None:
        support = support_request_open(user=employer, body=SUPPORT_QUESTION).conversation
    return [direct, support]


@transaction.atomic
def _direct(*, employer: User, freelancer: User, listing: Listing) -> Conversation:
    conversation = conversation_start(sender=employer, recipient=freelancer, listing=listing)
    scan = dental_stl("prep-46.stl", [die(MOLAR)], title="tooth 46 preparation scan")
    message_send(conversation=conversation, sender=employer, body=QUESTION, files=[scan])
    message_send(conversation=conversation, sender=freelancer, body=ANSWER)
    return conversation

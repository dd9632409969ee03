"""Reads for the messaging pages, with the visibility rules in one place.

Who may read a conversation (everyone else gets 404, signed in or not):

| kind     | participants | staff                     |
|----------|--------------|---------------------------|
| direct   | yes          | no: private to the two    |
| order    | yes          | no: the parties' own      |
| support  | yes          | read and reply            |
| dispute  | yes          | read and reply            |

`conversation_for(user, pk)` and `attachment_for(user, conversation_pk, pk)` apply them;
`unread_total(user)` is the navigation badge (one query, kept in the cache)."""

from __future__ import annotations

from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404

from cadcam.cache import remembered
from cadcam.staff import acting_as_staff
from messaging import badge
from messaging.models import (
    Attachment,
    Block,
    Conversation,
    Message,
    MessagingPreference,
    Participant,
    direct_key,
)

K = Conversation.Kind


def _seats_of(user) -> QuerySet[Participant]:
    """The user's seats that count. Staff take a seat in a support or dispute thread by
    answering it; that seat counts only while they act as staff (cadcam/staff.py), so a staff
    session without the second factor keeps nothing of what it could read as staff. Their own
    seats (a request they opened, a dispute about their order) always count."""
    seats = Participant.objects.filter(user=user)
    if acting_as_staff(user):
        return seats
    return seats.filter(
        Q(conversation__kind__in=[K.DIRECT, K.ORDER])
        | Q(conversation__kind=K.SUPPORT, conversation__started_by=user)
        | Q(conversation__kind=K.DISPUTE, conversation__order__employer=user)
        | Q(conversation__kind=K.DISPUTE, conversation__order__freelancer=user)
    )


def own_seat(user, conversation: Conversation) -> bool:
    """Whether a seat of this user here is their own rather than one taken as staff (no query
    beyond the conversation's order)."""
    if conversation.kind == K.SUPPORT:
        return conversation.started_by_id == user.pk
    if conversation.kind == K.DISPUTE:
        return user.pk in (conversation.order.employer_id, conversation.order.freelancer_id)
    return True


def is_participant(user, conversation: Conversation) -> bool:
    """A seat in the conversation that counts (`_seats_of`)."""
    if not user.is_authenticated or not (acting_as_staff(user) or own_seat(user, conversation)):
        return False
    return Participant.objects.filter(conversation=conversation, user=user).exists()


def _readable(user) -> Q:
    rule = Q(Exists(_seats_of(user).filter(conversation=OuterRef("pk"))))
    if acting_as_staff(user):
        rule |= Q(kind__in=[K.SUPPORT, K.DISPUTE])
    return rule


def conversation_for(user, pk) -> Conversation:
    """A conversation this user may read; 404 otherwise."""
    if not user.is_authenticated:
        raise Http404
    try:
        return (
            Conversation.objects.filter(_readable(user))
            .select_related("listing", "order", "assigned_to__profile", "started_by__profile")
            .get(pk=int(pk))
        )
    except (Conversation.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def attachment_for(user, conversation_pk, pk) -> Attachment:
    """An attachment of a conversation this user may read; 404 otherwise."""
    conversation = conversation_for(user, conversation_pk)
    try:
        return Attachment.objects.select_related("message").get(pk=int(pk), message__conversation=conversation)
    except (Attachment.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def existing_direct(user, other, *, listing=None) -> Conversation | None:
    """The direct conversation of these two (about this listing) if they have one."""
    return Conversation.objects.filter(key=direct_key(user, other, listing=listing)).first()


def order_key(order_id: int) -> str:
    """The key of an order's conversation (`Conversation.key`)."""
    return f"order:{order_id}"


def order_conversation_of(order) -> Conversation | None:
    """The order's conversation, if a message was ever sent there (made on the first one)."""
    return Conversation.objects.filter(key=order_key(order.pk)).first()


def last_read_by(conversation: Conversation, user) -> int | None:
    """The newest message this user has read here (None: no seat)."""
    return Participant.objects.filter(conversation=conversation, user=user).values_list(
        "last_read_id", flat=True).first()


def participants_of(conversation: Conversation) -> list[Participant]:
    return list(conversation.participants.select_related("user__profile").order_by("joined_at", "pk"))


def messages_of(conversation: Conversation, *, after: int = 0) -> QuerySet[Message]:
    return (
        conversation.messages.filter(pk__gt=after)
        .select_related("sender__profile")
        .prefetch_related("attachments")
        .order_by("pk")
    )


def seen_by_others(conversation: Conversation, *, user) -> int:
    """The newest message id every other participant has read (0: none), for "Seen"."""
    others = Participant.objects.filter(conversation=conversation).exclude(user=user)
    if conversation.kind == K.SUPPORT and not acting_as_staff(user):
        # The user's question is seen when anyone from the support team read it.
        reads = list(others.filter(user__is_staff=True).values_list("last_read_id", flat=True))
        return max(reads, default=0)
    reads = list(others.values_list("last_read_id", flat=True))
    return min(reads, default=0)


def read_receipt(conversation: Conversation, *, user) -> str:
    """Under the newest message, when the viewer sent it: "Seen" once the others have read
    it (the support team, for a support request), "Sent" until then; empty otherwise."""
    newest = conversation.messages.order_by("-pk").values("pk", "sender_id").first()
    if newest is None or newest["sender_id"] != user.pk:
        return ""
    return "Seen" if seen_by_others(conversation, user=user) >= newest["pk"] else "Sent"


# Short enough that a change whose token move was lost (Redis did not answer then) shows soon.
UNREAD_SECONDS = 300


def unread_total(user) -> int:
    """Messages others sent in this user's conversations that the user has not read: the
    navigation badge of every signed-in page.

    Kept in the cache under the user's token (cadcam/cache.py), which moves whenever a message
    arrives in one of their threads, a seat of theirs is taken or left, or they read
    (messaging/badge.py); a staff member's count is kept apart for when they act as staff.
    Counted from the user's seats, each reading its thread's index past the seat's last read
    message: the cost follows what the user has unread, not the size of the messages table."""
    if not user.is_authenticated:
        return 0
    acting = acting_as_staff(user)

    def count() -> int:
        unread = (
            Message.objects.filter(conversation=OuterRef("conversation"), pk__gt=OuterRef("last_read_id"))
            .exclude(sender=user).order_by().values("conversation").annotate(count=Count("pk")).values("count")
        )
        counts = _seats_of(user).annotate(unread=Coalesce(Subquery(unread), 0)).aggregate(total=Sum("unread"))
        return counts["total"] or 0

    return remembered(f"messaging:unread:{user.pk}:{int(acting)}", badge.token_key(user.pk), count, UNREAD_SECONDS)


def inbox_of(user, *, query: str = "") -> QuerySet[Conversation]:
    """The user's conversations, newest first, with their unread count and last message.

    `query` finds a person (name, handle) or a listing or order title."""
    seats = _seats_of(user)
    last = Message.objects.filter(conversation=OuterRef("pk")).order_by("-pk")
    conversations = (
        Conversation.objects.filter(pk__in=seats.values("conversation"), last_message_at__isnull=False)
        .annotate(
            unread=Count(
                "messages",
                filter=Q(messages__pk__gt=Subquery(seats.filter(conversation=OuterRef("pk")).values("last_read_id")))
                & ~Q(messages__sender=user),
            ),
            last_body=Subquery(last.values("body")[:1]),
            last_sender_id=Subquery(last.values("sender_id")[:1]),
        )
        .select_related("listing", "order", "started_by__profile")
        .prefetch_related("participants__user__profile")
        .order_by(F("last_message_at").desc(nulls_last=True), "-pk")
    )
    query = query.strip()
    if query:
        others = Participant.objects.filter(conversation=OuterRef("pk")).exclude(user=user).filter(
            Q(user__username__icontains=query)
            | Q(user__first_name__icontains=query)
            | Q(user__last_name__icontains=query)
            | Q(user__profile__display_name__icontains=query)
        )
        conversations = conversations.filter(
            Q(Exists(others))
            | Q(listing__title__icontains=query)
            | Q(order__title__icontains=query)
            | Q(subject__icontains=query)
        )
    return conversations


def support_requests_of(user) -> QuerySet[Conversation]:
    return (
        Conversation.objects.filter(kind=K.SUPPORT, started_by=user)
        .annotate(closed_last=Case(When(status=Conversation.Status.OPEN, then=Value(0)), default=Value(1)))
        .order_by("closed_last", "-created_at")
    )


def open_support_request_of(user) -> Conversation | None:
    return Conversation.objects.filter(kind=K.SUPPORT, started_by=user, status=Conversation.Status.OPEN).first()


STAFF_FILTERS = {
    "open": ("Open", Q(status=Conversation.Status.OPEN)),
    "mine": ("Assigned to me", None),
    "unassigned": ("Unassigned", Q(status=Conversation.Status.OPEN, assigned_to__isnull=True)),
    "closed": ("Closed", Q(status=Conversation.Status.CLOSED)),
    "all": ("All", Q()),
}


def support_inbox(staff_user, *, show: str = "open") -> QuerySet[Conversation]:
    """Support conversations for the staff inbox: open ones first, then the newest."""
    if not acting_as_staff(staff_user):
        raise Http404
    _label, rule = STAFF_FILTERS.get(show, STAFF_FILTERS["open"])
    if rule is None:
        rule = Q(assigned_to=staff_user)
    last = Message.objects.filter(conversation=OuterRef("pk")).order_by("-pk")
    return (
        Conversation.objects.filter(rule, kind=K.SUPPORT)
        .annotate(
            last_sender_id=Subquery(last.values("sender_id")[:1]),
            last_sender_staff=Subquery(last.values("sender__is_staff")[:1]),
            message_count=Count("messages"),
        )
        .select_related("started_by__profile", "assigned_to__profile")
        .annotate(closed_last=Case(When(status=Conversation.Status.OPEN, then=Value(0)), default=Value(1)))
        .order_by("closed_last", F("last_message_at").desc(nulls_last=True), "-pk")
    )


def conversation_partner_ids(user) -> QuerySet:
    """The ids of the people the user has talked to: the other members of their direct and
    order conversations that have messages (support and dispute threads, with staff, do not
    count). Registered as a contact source for private listings (listings/contacts.py)."""
    talked_in = Participant.objects.filter(
        user=user, conversation__kind__in=[K.DIRECT, K.ORDER], conversation__last_message_at__isnull=False
    ).values("conversation_id")
    return Participant.objects.filter(conversation_id__in=talked_in).exclude(user=user).values("user_id")


def block_between(blocker, blocked) -> bool:
    return Block.objects.filter(blocker=blocker, blocked=blocked).exists()


def wants_unread_emails(user) -> bool:
    preference = MessagingPreference.objects.filter(user=user).first()
    return preference.email_unread if preference else True


def messages_sent_export(user) -> list[dict]:
    return [
        {"conversation_id": message.conversation_id, "body": message.body, "created_at": message.created_at,
         "attachments": [attachment.name for attachment in message.attachments.all()]}
        for message in Message.objects.filter(sender=user).prefetch_related("attachments").order_by("pk")
    ]

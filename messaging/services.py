"""Every change in messaging goes through here. Other apps call these:

- `conversation_for_order(*, order)`: the order's conversation between its two parties
  (made on first use; the same one ever after). Staff read it; blocks do not apply.
- `conversation_for_dispute(*, order, dispute_id, subject="")`: a three-party thread for a
  dispute: the order's parties are participants, every staff member may read and reply
  (a staff member who replies becomes a participant). One per dispute id.
- `message_send(*, conversation, sender, body, files=(), hide_patient_data=True)`: post a
  message with attachments (each checked with `check_case_file`, stored privately).
  Refused with `ApplicationError` (nothing saved) when the sender may not write there,
  is blocked, writes too fast (30 a minute), or the input is bad.
- `direct_message_send(*, sender, recipient, listing=None, body, files=(), ...)`: the
  "Contact" button: finds or starts the direct conversation and sends the first message.
- `support_request_open`, `support_assign`, `support_close`, `support_reopen`: support chat.
- `conversation_mark_read`, `user_block`, `user_unblock`, `preference_set`.
- `unread_notifications_send(*, now=None)`: the e-mail sweep (Celery beat, every minute):
  one e-mail per conversation and recipient at most every 15 minutes, for messages still
  unread after a short grace period, unless the recipient turned it off.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Greatest
from django.utils import timezone

from accounts.models import User
from cadcam.direct_uploads import store_upload
from cadcam.emails import send_templated_email
from cadcam.errors import ApplicationError
from cadcam.files import check_case_file, safe_filename
from cadcam.staff import acting_as_staff
from cadcam.uploads import check_storage_quota, check_upload_batch
from listings.models import Listing
from messaging import badge
from messaging.models import (
    BODY_MAX_CHARS,
    Attachment,
    Block,
    Conversation,
    Message,
    MessagingPreference,
    Participant,
    direct_key,
)
from messaging.selectors import is_participant, order_key
from orders.models import Order

K = Conversation.Kind

RATE_LIMIT = 30  # messages per user ...
RATE_WINDOW = timedelta(minutes=1)  # ... in this window
MAX_FILES_PER_MESSAGE = 10
QUOTA_WINDOW = timedelta(hours=24)  # settings.MESSAGE_FILES_DAILY_QUOTA_BYTES counts files in this window
EMAIL_BATCH_WINDOW = timedelta(minutes=15)  # at most one e-mail per conversation and recipient in this time
EMAIL_GRACE = timedelta(minutes=2)  # a message read within this time (the thread was open) is never e-mailed


def _get_or_create(*, key: str, defaults: dict) -> tuple[Conversation, bool]:
    """One conversation per key even when two requests ask at the same moment."""
    try:
        with transaction.atomic():
            return Conversation.objects.get_or_create(key=key, defaults=defaults)
    except IntegrityError:
        return Conversation.objects.get(key=key), False


def _seat(conversation: Conversation, user: User) -> Participant:
    seat, _ = Participant.objects.get_or_create(conversation=conversation, user=user)
    return seat


def _active(user: User) -> bool:
    return user.is_active and user.deleted_at is None


# --- starting conversations ------------------------------------------------------------------


def _check_may_contact(*, sender: User, recipient: User) -> None:
    if sender.pk == recipient.pk:
        raise ApplicationError("You cannot send a message to yourself.")
    if not _active(recipient):
        raise ApplicationError("This account is not active: it cannot receive messages.")
    if Block.objects.filter(blocker=sender, blocked=recipient).exists():
        raise ApplicationError(f"You blocked {recipient.display_name}. Unblock them to write to them.")
    if Block.objects.filter(blocker=recipient, blocked=sender).exists():
        raise ApplicationError(f"{recipient.display_name} does not accept messages from you.")


@transaction.atomic
def conversation_start(*, sender: User, recipient: User, listing: Listing | None = None) -> Conversation:
    """The direct conversation between two users (about a listing, or from a profile):
    found if it exists, started otherwise. Refused when either has blocked the other."""
    _check_may_contact(sender=sender, recipient=recipient)
    if listing is not None and listing.owner_id not in (sender.pk, recipient.pk):
        raise ApplicationError("This service is not offered by the person you are writing to.")
    key = direct_key(sender, recipient, listing=listing)
    subject = listing.title[:120] if listing else ""
    conversation, _ = _get_or_create(
        key=key, defaults={"kind": K.DIRECT, "started_by": sender, "listing": listing, "subject": subject}
    )
    _seat(conversation, sender)
    _seat(conversation, recipient)
    return conversation


@transaction.atomic
def direct_message_send(*, sender: User, recipient: User, listing: Listing | None = None, body: str,
                        files: Sequence = (), hide_patient_data: bool = True) -> Message:
    """"Contact" from a listing or a profile: the first (or next) message of a direct conversation."""
    conversation = conversation_start(sender=sender, recipient=recipient, listing=listing)
    return message_send(
        conversation=conversation, sender=sender, body=body, files=files, hide_patient_data=hide_patient_data
    )


@transaction.atomic
def conversation_for_order(*, order: Order) -> Conversation:
    """The conversation of an order, between its employer and freelancer (staff may read it)."""
    conversation, created = _get_or_create(
        key=order_key(order.pk),
        defaults={"kind": K.ORDER, "started_by": order.employer, "order": order, "subject": order.title[:120]},
    )
    if created:
        Participant.objects.bulk_create(
            [Participant(conversation=conversation, user=order.employer),
             Participant(conversation=conversation, user=order.freelancer)]
        )
        badge.changed_for([order.employer_id, order.freelancer_id])
    return conversation


@transaction.atomic
def conversation_for_dispute(*, order: Order, dispute_id: int, subject: str = "") -> Conversation:
    """The three-party thread of a dispute about `order`: its two parties take part, staff
    read and reply. One per dispute id; calling again returns the same conversation."""
    conversation, created = _get_or_create(
        key=f"dispute:{dispute_id}",
        defaults={"kind": K.DISPUTE, "started_by": order.employer, "order": order,
                  "subject": (subject or f"Dispute about order #{order.pk}")[:120]},
    )
    if created:
        Participant.objects.bulk_create(
            [Participant(conversation=conversation, user=order.employer),
             Participant(conversation=conversation, user=order.freelancer)]
        )
        badge.changed_for([order.employer_id, order.freelancer_id])
    return conversation


# --- sending -------------------------------------------------------------------------------------


def _lock(conversation: Conversation) -> Conversation:
    return Conversation.objects.select_for_update().get(pk=conversation.pk)


def _check_may_write(conversation: Conversation, sender: User) -> None:
    if not is_participant(sender, conversation) and not (acting_as_staff(sender) and conversation.staff_may_write):
        raise ApplicationError("You cannot write in this conversation.")
    if conversation.is_closed:
        if acting_as_staff(sender):
            raise ApplicationError("This support request is closed. Reopen it to reply.")
        raise ApplicationError("This support request is closed. Open a new one from the support page.")
    if conversation.kind == K.DIRECT:
        for other in User.objects.filter(conversation_seats__conversation=conversation).exclude(pk=sender.pk):
            _check_may_contact(sender=sender, recipient=other)


def _check_rate(sender: User) -> None:
    # The sender's row lock makes two quick sends from one user count one after the other.
    User.objects.select_for_update().filter(pk=sender.pk).values_list("pk", flat=True).get()
    recent = Message.objects.filter(sender=sender, created_at__gt=timezone.now() - RATE_WINDOW).count()
    if recent >= RATE_LIMIT:
        raise ApplicationError(
            f"You are sending messages too fast: at most {RATE_LIMIT} a minute. Wait a moment, then send it again."
        )


def _check_files(files: Sequence) -> None:
    if len(files) > MAX_FILES_PER_MESSAGE:
        raise ApplicationError(f"Attach at most {MAX_FILES_PER_MESSAGE} files to one message.")
    check_upload_batch(files)
    for upload in files:
        try:
            check_case_file(upload)
        except ValidationError as error:
            raise ApplicationError(" ".join(error.messages)) from error


def _check_quota(sender: User, files: Sequence) -> None:
    """Files one account attaches in a day (conversations and dispute threads together). Runs
    under the sender's row lock (`_check_rate`), so two sends at once count in turn."""
    if not files:
        return
    recent = Attachment.objects.filter(message__sender=sender, created_at__gt=timezone.now() - QUOTA_WINDOW)
    check_storage_quota(
        used=recent.aggregate(total=Sum("size"))["total"] or 0, adding=sum(upload.size for upload in files),
        quota=settings.MESSAGE_FILES_DAILY_QUOTA_BYTES, what="The files you attached in the last 24 hours",
        advice="Send the rest tomorrow, or write to support if you need more room.",
    )


@transaction.atomic
def message_send(*, conversation: Conversation, sender: User, body: str, files: Sequence = (),
                 hide_patient_data: bool = True) -> Message:
    """Post a message (text and/or files). Refused with nothing saved when not allowed."""
    body = (body or "").strip()
    if not body and not files:
        raise ApplicationError("Write a message or attach a file.")
    if len(body) > BODY_MAX_CHARS:
        raise ApplicationError(f"A message can have at most {BODY_MAX_CHARS} characters (this one has {len(body)}).")
    _check_files(files)
    _check_rate(sender)
    _check_quota(sender, files)
    conversation = _lock(conversation)
    _check_may_write(conversation, sender)
    message = Message.objects.create(conversation=conversation, sender=sender, body=body)
    for upload in files:
        name = safe_filename(upload.name)
        attachment = Attachment(message=message, name=name, size=upload.size, hide_patient_data=hide_patient_data)
        store_upload(attachment, upload, name=name, owner=sender)
    conversation.last_message_at = message.created_at
    conversation.save(update_fields=["last_message_at"])
    seat = _seat(conversation, sender)  # staff answering support or a dispute join the thread
    _read_up_to(seat, message.pk)
    return message


def _read_up_to(seat: Participant, message_id: int) -> int:
    moved = Participant.objects.filter(pk=seat.pk, last_read_id__lt=message_id).update(
        last_read_id=message_id, read_at=timezone.now()
    )
    if moved:
        badge.changed_for([seat.user_id])
    return moved


def conversation_mark_read(*, conversation: Conversation, user: User) -> bool:
    """The user has seen every message of the conversation so far. True if anything changed.

    A single conditional update: the pointer only moves forward, so two open tabs polling at
    once cannot move it back."""
    newest = conversation.messages.order_by("-pk").values_list("pk", flat=True).first()
    if newest is None:
        return False
    moved = Participant.objects.filter(conversation=conversation, user=user, last_read_id__lt=newest).update(
        last_read_id=newest, read_at=timezone.now()
    )
    if moved:
        badge.changed_for([user.pk])
    return bool(moved)


# --- support ------------------------------------------------------------------------------------


@transaction.atomic
def support_request_open(*, user: User, body: str, files: Sequence = (), hide_patient_data: bool = True) -> Message:
    """A new conversation with the support team, with its first message. One open request
    per user at a time: a second one is refused until staff close the first."""
    if Conversation.objects.filter(kind=K.SUPPORT, started_by=user, status=Conversation.Status.OPEN).exists():
        raise ApplicationError("You already have an open support request: write there, the team reads it.")
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(kind=K.SUPPORT, started_by=user, subject="Support request")
    except IntegrityError:
        raise ApplicationError("You already have an open support request: write there, the team reads it.") from None
    Participant.objects.create(conversation=conversation, user=user)
    return message_send(conversation=conversation, sender=user, body=body, files=files,
                        hide_patient_data=hide_patient_data)


def _lock_support(conversation: Conversation, by: User) -> Conversation:
    if not acting_as_staff(by):
        raise ApplicationError("Only the support team can do that.")
    conversation = _lock(conversation)
    if conversation.kind != K.SUPPORT:
        raise ApplicationError("Only support conversations are assigned and closed.")
    return conversation


@transaction.atomic
def support_assign(*, conversation: Conversation, by: User) -> Conversation:
    """Assign a support request to oneself (taking it over from a colleague is allowed)."""
    conversation = _lock_support(conversation, by)
    if conversation.is_closed:
        raise ApplicationError("This support request is closed. Reopen it first.")
    conversation.assigned_to = by
    conversation.save(update_fields=["assigned_to"])
    _seat(conversation, by)
    return conversation


@transaction.atomic
def support_close(*, conversation: Conversation, by: User) -> Conversation:
    conversation = _lock_support(conversation, by)
    if conversation.is_closed:
        raise ApplicationError("This support request is already closed.")
    conversation.status = Conversation.Status.CLOSED
    conversation.closed_at = timezone.now()
    conversation.closed_by = by
    conversation.save(update_fields=["status", "closed_at", "closed_by"])
    return conversation


@transaction.atomic
def support_reopen(*, conversation: Conversation, by: User) -> Conversation:
    conversation = _lock_support(conversation, by)
    if not conversation.is_closed:
        raise ApplicationError("This support request is open.")
    if Conversation.objects.filter(
        kind=K.SUPPORT, started_by=conversation.started_by_id, status=Conversation.Status.OPEN
    ).exists():
        raise ApplicationError("This user has opened a newer support request: answer there.")
    conversation.status = Conversation.Status.OPEN
    conversation.closed_at = None
    conversation.closed_by = None
    conversation.save(update_fields=["status", "closed_at", "closed_by"])
    return conversation


# --- blocking and preferences --------------------------------------------------------------------


@transaction.atomic
def user_block(*, blocker: User, blocked: User) -> Block:
    """`blocked` can no longer write to `blocker` in direct conversations, nor start one.
    Order, dispute and support conversations are not affected (see docs/messaging.md)."""
    if blocker.pk == blocked.pk:
        raise ApplicationError("You cannot block yourself.")
    if blocked.is_staff:
        raise ApplicationError("The support team cannot be blocked.")
    block, _ = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    return block


@transaction.atomic
def user_unblock(*, blocker: User, blocked: User) -> None:
    Block.objects.filter(blocker=blocker, blocked=blocked).delete()


@transaction.atomic
def preference_set(*, user: User, email_unread: bool) -> MessagingPreference:
    preference, _ = MessagingPreference.objects.update_or_create(user=user, defaults={"email_unread": email_unread})
    return preference


# --- e-mail about unread messages ----------------------------------------------------------------


def _unread_for(seat_ref, *, before: datetime):
    """Messages others sent that this seat has neither read nor been e-mailed about."""
    return (
        Message.objects.filter(conversation=OuterRef(f"{seat_ref}conversation"))
        .filter(pk__gt=Greatest(OuterRef(f"{seat_ref}last_read_id"), OuterRef(f"{seat_ref}notified_up_to_id")))
        .exclude(sender=OuterRef(f"{seat_ref}user"))
        .filter(created_at__lte=before)
    )


def _due_seats(now: datetime):
    return (
        Participant.objects.filter(Exists(_unread_for("", before=now - EMAIL_GRACE)))
        .filter(Q(notified_at__isnull=True) | Q(notified_at__lte=now - EMAIL_BATCH_WINDOW))
        .filter(user__is_active=True, user__deleted_at__isnull=True)
        .exclude(user__messaging_preference__email_unread=False)
    )


def unread_notifications_send(*, now: datetime | None = None) -> int:
    """E-mail everyone who has unread messages that are due; return how many e-mails were sent.
    Safe to run twice at once: each recipient's seat is locked (and skipped if locked)."""
    now = now or timezone.now()
    sent = 0
    for seat_id in _due_seats(now).order_by("pk").values_list("pk", flat=True):
        sent += participant_notify(seat_id=seat_id, now=now)
    return sent


@transaction.atomic
def participant_notify(*, seat_id: int, now: datetime | None = None) -> bool:
    """One e-mail to one participant about their unread messages in one conversation, if still due."""
    now = now or timezone.now()
    seat = _due_seats(now).select_for_update(skip_locked=True, of=("self",)).filter(pk=seat_id).first()
    if seat is None:
        return False
    seat = Participant.objects.select_related("conversation", "user__profile").get(pk=seat.pk)
    fresh = (
        seat.conversation.messages.filter(pk__gt=max(seat.last_read_id, seat.notified_up_to_id))
        .exclude(sender=seat.user)
        .select_related("sender__profile")
        .prefetch_related("attachments")
        .order_by("pk")
    )
    fresh = list(fresh)
    unread = seat.conversation.messages.filter(pk__gt=seat.last_read_id).exclude(sender=seat.user).count()
    send_templated_email(
        to=seat.user.email,
        template="message_unread",
        context={
            "recipient": seat.user,
            "conversation": seat.conversation,
            "title": seat.conversation.title_for(seat.user),
            "messages": fresh[-5:],
            "more": max(0, len(fresh) - 5),
            "unread": unread,
            "senders": sorted({message.sender.display_name for message in fresh}),
        },
    )
    Participant.objects.filter(pk=seat.pk).update(
        notified_at=now, notified_up_to_id=Greatest(F("notified_up_to_id"), fresh[-1].pk)
    )
    return True

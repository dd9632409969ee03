"""Conversations, their messages and attachments, blocks and e-mail preferences.

A conversation has a kind that decides who may see it (messaging/selectors.py holds the
rules): `direct` between two users (started from a listing or a profile), `order` between
an order's two parties, `support` between a user and the support team, `dispute` between
an order's two parties and staff. Staff see every support and dispute conversation (a seat
they took by answering counts only while they act as staff); order and direct conversations
are private to their participants.

Who reads what is kept per participant: `last_read_id` is the newest message the
participant has seen, so a message is unread for a participant when its id is greater and
someone else sent it."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from cadcam.staff import acting_as_staff
from cadcam.storage import private_storage

BODY_MAX_CHARS = 5000


class Conversation(models.Model):
    class Kind(models.TextChoices):
        DIRECT = "direct", "Direct"  # two users; private to them
        ORDER = "order", "Order"  # an order's two parties; private to them
        SUPPORT = "support", "Support"  # a user and the support team (all staff)
        DISPUTE = "dispute", "Dispute"  # an order's parties and staff

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"  # support only: closed by staff; the user opens a new request

    kind = models.CharField(max_length=10, choices=Kind, editable=False)
    # What makes a conversation unique ("direct:3-7:listing-12", "order:55", "dispute:9"), so
    # getting it twice at once still makes one. Empty for support (a user may have several).
    key = models.CharField(max_length=80, unique=True, null=True, blank=True, editable=False)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    listing = models.ForeignKey(
        "listings.Listing", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="conversations"
    )
    subject = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.OPEN, editable=False)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        limit_choices_to={"is_staff": True},
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-last_message_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["started_by"], condition=models.Q(kind="support", status="open"),
                name="messaging_one_open_support_request",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="support") | models.Q(status="open"), name="messaging_only_support_closes"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=["order", "dispute"]) | models.Q(order__isnull=False),
                name="messaging_order_kinds_have_an_order",
            ),
        ]
        indexes = [models.Index(fields=["kind", "status", "-last_message_at"], name="messaging_support_inbox_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} conversation #{self.pk}"

    def get_absolute_url(self) -> str:
        if self.kind == self.Kind.ORDER:
            return reverse("orders:detail", args=[self.order_id]) + "#conversation"
        if self.kind == self.Kind.SUPPORT:
            return reverse("messaging:support_detail", args=[self.pk])
        return reverse("messaging:conversation", args=[self.pk])

    def others(self, viewer) -> list:
        """The participants other than `viewer` (participants prefetched with their users)."""
        return [seat.user for seat in self.participants.all() if seat.user_id != getattr(viewer, "pk", None)]

    def other_people(self, viewer) -> str:
        """The other participants' names ("Elena Marsh", "Elena Marsh, Sam Staffer")."""
        return ", ".join(user.display_name for user in self.others(viewer)) or "Nobody else yet"

    def title_for(self, viewer) -> str:
        """The conversation's name as this viewer sees it (inbox, page title, e-mail)."""
        if self.kind == self.Kind.ORDER:
            return f"Order #{self.order_id}: {self.subject}"
        if self.kind == self.Kind.SUPPORT:
            if acting_as_staff(viewer) and self.started_by_id != getattr(viewer, "pk", None):
                return f"Support request #{self.pk} from {self.started_by.display_name}"
            return f"Support request #{self.pk}"
        if self.kind == self.Kind.DISPUTE:
            return self.subject or f"Dispute about order #{self.order_id}"
        names = self.other_people(viewer)
        return f"{names} · {self.subject}" if self.subject else names

    @property
    def staff_may_read(self) -> bool:
        return self.kind in (self.Kind.SUPPORT, self.Kind.DISPUTE)

    @property
    def staff_may_write(self) -> bool:
        return self.kind in (self.Kind.SUPPORT, self.Kind.DISPUTE)

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


def direct_key(a, b, *, listing=None) -> str:
    """The key of the direct conversation between two users, about a listing or not."""
    low, high = sorted([a.pk, b.pk])
    return f"direct:{low}-{high}" + (f":listing-{listing.pk}" if listing is not None else "")


class Participant(models.Model):
    """A user in a conversation, with what they have read and when we last e-mailed them."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversation_seats")
    last_read_id = models.PositiveBigIntegerField(default=0, help_text="The newest message this person has seen.")
    read_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When we last e-mailed about this thread.")
    notified_up_to_id = models.PositiveBigIntegerField(default=0)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="messaging_participant_once"),
        ]
        indexes = [models.Index(fields=["user", "conversation"], name="messaging_seat_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} in #{self.conversation_id}"


class Message(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="messages_sent")
    body = models.TextField(max_length=BODY_MAX_CHARS, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["conversation", "id"], name="messaging_thread_idx"),
            models.Index(fields=["sender", "created_at"], name="messaging_sender_rate_idx"),
        ]

    def __str__(self) -> str:
        return f"Message #{self.pk} in #{self.conversation_id}"


def attachment_path(attachment: "Attachment", filename: str) -> str:
    return f"messages/{attachment.message.conversation_id}/{filename}"


class Attachment(models.Model):
    """A file sent with a message. Private: served only to who may read the conversation."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, storage=private_storage, max_length=255)
    name = models.CharField(max_length=160, help_text="The name as uploaded, made safe.")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    # Summaries of the file (e.g. an exocad constructionInfo) leave out the patient's data when set.
    hide_patient_data = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def extension(self) -> str:
        return self.name.rpartition(".")[2].lower() if "." in self.name else ""


class Block(models.Model):
    """`blocker` does not take messages from `blocked` in direct conversations."""

    blocker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="messaging_block_once"),
            models.CheckConstraint(condition=~models.Q(blocker=models.F("blocked")), name="messaging_no_self_block"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker} blocks {self.blocked}"


class MessagingPreference(models.Model):
    """Per-user messaging settings; no row means the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messaging_preference")
    email_unread = models.BooleanField(
        "E-mail me about unread messages", default=True,
        help_text="At most one e-mail per conversation every 15 minutes, only for messages you have not read.",
    )

    def __str__(self) -> str:
        return f"Messaging preferences of {self.user}"

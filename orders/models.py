import json
import math

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from cadcam.money import format_cents
from cadcam.storage import private_storage


class Order(models.Model):
    """A case sent by an employer to a freelancer, and the money held for it.

    Amounts are copied from the listing when the order is made and never recomputed.
    The status only changes in orders/services.py, through its transition table."""

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", "Waiting for payment"  # employer has not paid yet
        REQUESTED = "requested", "Waiting for the designer"  # card authorized; designer accepts or declines
        ACCEPTED = "accepted", "In progress"  # payment captured and held; designer works
        DELIVERED = "delivered", "Delivered"  # designs uploaded; employer completes or asks for a revision
        DISPUTED = "disputed", "In dispute"  # staff decide (disputes)
        COMPLETED = "completed", "Completed"  # freelancer's money due after clearing
        DECLINED = "declined", "Declined"  # designer said no; authorization released
        EXPIRED = "expired", "Expired"  # not paid, or not accepted in time; nothing charged
        WITHDRAWN = "withdrawn", "Withdrawn"  # employer cancelled before acceptance; nothing charged
        REFUNDED = "refunded", "Refunded"  # staff refunded in full (disputes)

    employer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders_sent")
    freelancer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders_received")
    listing = models.ForeignKey("listings.Listing", on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, choices=Status, default=Status.PENDING_PAYMENT, editable=False)

    # Snapshot of what was bought, taken from the listing at creation.
    title = models.CharField(max_length=100)
    unit_price_cents = models.PositiveIntegerField()
    unit_name = models.CharField(max_length=30, blank=True)
    quantity = models.PositiveSmallIntegerField(default=1)
    options_cents = models.PositiveIntegerField(default=0)
    total_cents = models.PositiveIntegerField()
    fee_cents = models.PositiveIntegerField()
    net_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="USD")
    revisions_included = models.PositiveSmallIntegerField()
    revisions_used = models.PositiveSmallIntegerField(default=0)
    turnaround_days = models.PositiveSmallIntegerField()

    instructions = models.TextField(blank=True, max_length=5000)
    due_date = models.DateField(null=True, blank=True)
    payment_id = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    authorized_at = models.DateTimeField(null=True, blank=True)
    accept_by = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    auto_complete_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    payout_due_at = models.DateTimeField(null=True, blank=True)
    owed_cents = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="What the designer is owed, recorded at completion: the total less refunds and the fee.",
    )
    accept_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    complete_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    # The last number given to a pin of this order (orders/pin_services.py): a removed pin's
    # number is never given again, so a form still naming "pin 3" cannot reach another pin.
    pins_numbered = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "accept_by"], name="orders_accept_deadline_idx"),
            models.Index(fields=["status", "auto_complete_at"], name="orders_complete_deadline_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(total_cents=models.F("unit_price_cents") * models.F("quantity")
                                   + models.F("options_cents")),
                name="orders_total_is_the_sum",
            ),
            models.CheckConstraint(
                condition=models.Q(net_cents=models.F("total_cents") - models.F("fee_cents")),
                name="orders_net_is_total_minus_fee",
            ),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="orders_quantity_positive"),
            models.CheckConstraint(
                condition=~models.Q(employer=models.F("freelancer")), name="orders_not_to_oneself"
            ),
            models.CheckConstraint(
                condition=models.Q(owed_cents__isnull=True) | models.Q(owed_cents__lte=models.F("net_cents")),
                name="orders_owed_at_most_the_net",
            ),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk}: {self.title} ({self.get_status_display()})"

    @property
    def units_cents(self) -> int:
        return self.unit_price_cents * self.quantity

    @property
    def revisions_left(self) -> int:
        return max(0, self.revisions_included - self.revisions_used)

    @property
    def ended_at(self):
        """When the order reached its end with money moved (completed or refunded): the
        review window opens then. None while it is open or if it ended without a charge."""
        return self.completed_at or self.refunded_at

    @property
    def total_display(self) -> str:
        return format_cents(self.total_cents, self.currency)


# Nothing has been charged in these states: the case files count against the sender's
# storage quota for unpaid cases, and those of ended ones are deleted after a grace period.
NOT_YET_PAID = (Order.Status.PENDING_PAYMENT, Order.Status.REQUESTED)
ENDED_UNPAID = (Order.Status.DECLINED, Order.Status.EXPIRED, Order.Status.WITHDRAWN)


class OrderOption(models.Model):
    """An add-on chosen for the order, as priced when the order was made."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="options")
    name = models.CharField(max_length=80)
    price_cents = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.name} (+{format_cents(self.price_cents)})"


class OrderEvent(models.Model):
    """The timeline: every change of state, who made it (empty: the system) and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    from_status = models.CharField(max_length=20, blank=True, choices=Order.Status)
    to_status = models.CharField(max_length=20, choices=Order.Status)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"#{self.order_id}: {self.from_status or '—'} -> {self.to_status}"

    @property
    def description(self) -> str:
        """What happened, in words, for the timeline."""
        if self.to_status == Order.Status.ACCEPTED and self.from_status == Order.Status.DELIVERED:
            return "Revision requested"
        if self.from_status == Order.Status.DISPUTED:
            if self.to_status == Order.Status.COMPLETED:
                return "Dispute resolved: partly refunded, the rest paid to the designer"
            if self.to_status in (Order.Status.ACCEPTED, Order.Status.DELIVERED):
                return "Dispute dismissed; the order goes on"
        return EVENT_WORDS.get(self.to_status, self.get_to_status_display())


EVENT_WORDS = {
    Order.Status.PENDING_PAYMENT: "Case sent",
    Order.Status.REQUESTED: "Card authorized; the designer is asked",
    Order.Status.ACCEPTED: "Accepted; payment captured and held",
    Order.Status.DELIVERED: "Delivered",
    Order.Status.COMPLETED: "Completed",
    Order.Status.DECLINED: "Declined; nothing charged",
    Order.Status.EXPIRED: "Expired; nothing charged",
    Order.Status.WITHDRAWN: "Withdrawn; nothing charged",
    Order.Status.DISPUTED: "Dispute opened; automatic completion paused",
    Order.Status.REFUNDED: "Dispute resolved: refunded in full",
}


class Delivery(models.Model):
    """A batch of designs the freelancer hands over: delivery 1, then revision 1, 2, ..."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="deliveries")
    number = models.PositiveSmallIntegerField()
    note = models.TextField(blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["order", "number"], name="orders_delivery_number_once")]

    def __str__(self) -> str:
        return f"Delivery {self.number} of order #{self.order_id}"

    @property
    def label(self) -> str:
        """What the pages call it: "Delivery" for the first, then "Revision 1", "Revision 2"..."""
        return "Delivery" if self.number == 1 else f"Revision {self.number - 1}"


def order_file_path(file: "OrderFile", filename: str) -> str:
    return f"orders/{file.order_id}/{filename}"


class OrderFile(models.Model):
    """A case file the employer sent, or a file of a delivery. Private: served only to the
    order's parties and staff, by a view that checks."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="files")
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.CASCADE, related_name="files")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Empty once deleted (the case ended unpaid: orders.services.unpaid_case_files_purge);
    # the name, size and fingerprint stay.
    file = models.FileField(upload_to=order_file_path, storage=private_storage, max_length=255, blank=True)
    name = models.CharField(max_length=160, help_text="The name as uploaded, made safe.")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    hide_patient_data = models.BooleanField(
        default=True, help_text="Patient fields of exocad files are shown only to the uploader and staff."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.name


def _vector(**options) -> ArrayField:
    return ArrayField(models.FloatField(), size=3, **options)


class Pin(models.Model):
    """A comment pinned to a point on a 3D file of the order (STL, PLY, OBJ): where the lab
    says "the margin is open here". Coordinates are the file's own (millimetres in dental CAD),
    so a pin placed on one delivery also lands in place on the next. A measurement pin has a
    second point and shows the distance between the two.

    Written and resolved only in orders/pin_services.py; seen by whoever may see the file."""

    class Kind(models.TextChoices):
        COMMENT = "comment", "Comment"
        MEASUREMENT = "measurement", "Measurement"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="pins")
    file = models.ForeignKey(OrderFile, on_delete=models.CASCADE, related_name="pins")
    number = models.PositiveIntegerField(help_text="1, 2, ... within the order: the number on the marker.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind, default=Kind.COMMENT)
    text = models.TextField(max_length=2000, blank=True)
    point = _vector()
    normal = _vector()
    end = _vector(null=True, blank=True)
    # Where the camera was when the pin was placed (file coordinates): {"position", "target", "up"}.
    camera = models.JSONField()
    # The revision request that carried this pin to the designer (its "Revision requested" event).
    revision = models.ForeignKey(OrderEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="pins")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    reply = models.TextField(max_length=2000, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "number"], name="orders_pin_number_once"),
            models.CheckConstraint(condition=models.Q(point__len=3) & models.Q(normal__len=3),
                                   name="orders_pin_points_are_3d"),
            models.CheckConstraint(
                condition=(models.Q(kind="comment", end__isnull=True)
                           | models.Q(kind="measurement", end__isnull=False, end__len=3)),
                name="orders_pin_measurement_has_an_end",
            ),
            models.CheckConstraint(
                condition=models.Q(resolved_at__isnull=True) | ~models.Q(reply=""),
                name="orders_pin_resolved_with_a_reply",
            ),
        ]

    def __str__(self) -> str:
        return f"Pin {self.number} on {self.file}"

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def camera_json(self) -> str:
        return json.dumps(self.camera, separators=(",", ":"))

    @property
    def length_mm(self) -> float | None:
        """A measurement's distance between its two points, in file units (mm)."""
        if self.end is None:
            return None
        return math.dist(self.point, self.end)


class OrderNotice(models.Model):
    """What the deadline sweep did to an order, waiting to be told to one of its parties.

    The sweep writes these in the transaction of each change, instead of an e-mail per order;
    after the sweep, each recipient gets one e-mail listing all of theirs
    (orders/notices.py). Changes people make themselves are e-mailed at once, as before."""

    class Kind(models.TextChoices):
        EXPIRED = "expired", "Expired"
        COMPLETED = "completed", "Completed automatically"
        ACCEPT_REMINDER = "accept_reminder", "Reminder to accept or decline"
        COMPLETE_REMINDER = "complete_reminder", "Reminder before automatic completion"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notices")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=10)  # employer or freelancer
    kind = models.CharField(max_length=20, choices=Kind)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["recipient", "id"], condition=models.Q(sent_at__isnull=True),
                         name="orders_notice_unsent_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.order_id} {self.kind} to {self.recipient_id}"

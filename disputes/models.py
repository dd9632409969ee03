from django.conf import settings
from django.db import models

from cadcam.money import format_cents


class Dispute(models.Model):
    """An employer's complaint about an accepted order, decided by staff.

    While it is open the order is `disputed` and does not complete by itself. Staff refund in
    full, refund part (the rest is paid out), or dismiss (the order goes on where it was, its
    deadline moved back by the time spent in dispute). Only disputes/services.py writes it."""

    class Reason(models.TextChoices):
        NOT_DELIVERED = "not_delivered", "Not delivered"
        NOT_AS_AGREED = "not_as_agreed", "Not as agreed"
        QUALITY = "quality", "Quality"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"  # staff decide
        REFUNDED = "refunded", "Refunded in full"
        PARTLY_REFUNDED = "partly_refunded", "Partly refunded"
        DISMISSED = "dismissed", "Dismissed"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="disputes")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=20, choices=Reason)
    description = models.TextField(max_length=5000)
    status = models.CharField(max_length=20, choices=Status, default=Status.OPEN, editable=False)
    order_status_before = models.CharField(max_length=20, help_text="Where the order goes back to if dismissed.")
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    resolution_note = models.TextField(blank=True)
    refunded_cents = models.PositiveIntegerField(default=0)
    another_allowed = models.BooleanField(
        default=False, help_text="Dismissed, but the employer may open a new dispute on this order."
    )

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=models.Q(status="open"),
                                    name="disputes_one_open_per_order"),
            models.CheckConstraint(
                condition=models.Q(status="open")
                | (models.Q(resolved_at__isnull=False) & ~models.Q(resolution_note="")),
                name="disputes_resolved_with_a_note",
            ),
        ]

    def __str__(self) -> str:
        return f"Dispute #{self.pk} on order #{self.order_id} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def refunded_display(self) -> str:
        return format_cents(self.refunded_cents)


class Chargeback(models.Model):
    """A card dispute the employer opened with their bank (Stripe's charge.dispute.*). The
    order's payout is frozen while it is open, and staff answer it in Stripe's dashboard."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="chargebacks")
    gateway_id = models.CharField(max_length=64, unique=True)
    amount_cents = models.PositiveIntegerField()
    reason = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=40)
    payout_frozen = models.BooleanField(default=False, help_text="The payout was held before it was transferred.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Chargeback {self.gateway_id} on order #{self.order_id}"

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django_countries.fields import CountryField

from cadcam.money import format_cents


class PayoutCountry(models.Model):
    """A country whose banks Stripe Connect can pay out to from our platform. Staff keep the
    list in admin; a freelancer picks their bank's country from the enabled ones."""

    country = CountryField(unique=True)
    enabled = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "payout countries"
        ordering = ["country"]

    def __str__(self) -> str:
        return self.country.name

    @property
    def service_agreement(self) -> str:
        """Accounts outside the platform's own country take Stripe's recipient agreement
        (they can receive transfers, not take payments)."""
        return "full" if self.country.code == settings.STRIPE_PLATFORM_COUNTRY else "recipient"


class PayoutAccount(models.Model):
    """The freelancer's connected account at the gateway (Stripe Connect Express, or simulated).
    Its fields mirror the gateway's account and are only written by the payouts services."""

    class State(models.TextChoices):
        REJECTED = "rejected", "Rejected by Stripe"
        DETAILS_NEEDED = "details_needed", "Details needed"
        PENDING_VERIFICATION = "pending_verification", "Pending verification"
        ENABLED = "enabled", "Payouts enabled"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payout_account")
    country = CountryField()
    gateway_account_id = models.CharField(max_length=64, unique=True)
    details_submitted = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    requirements_due = models.JSONField(default=list, blank=True)
    requirements_pending = models.JSONField(default=list, blank=True)
    disabled_reason = models.CharField(max_length=100, blank=True)
    links_created = models.PositiveIntegerField(default=0, help_text="Onboarding and dashboard links made so far.")
    created_at = models.DateTimeField(auto_now_add=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.gateway_account_id} ({self.user})"

    @property
    def state(self) -> str:
        if self.disabled_reason.startswith("rejected"):
            return self.State.REJECTED
        if self.payouts_enabled:
            return self.State.ENABLED
        if not self.details_submitted or self.requirements_due:
            return self.State.DETAILS_NEEDED
        return self.State.PENDING_VERIFICATION

    def get_state_display(self) -> str:
        return self.State(self.state).label


class Payout(models.Model):
    """What a completed order owes its freelancer, from clearing to their bank."""

    class Status(models.TextChoices):
        CLEARING = "clearing", "Clearing"  # completed; waits for the clearing period (due_at)
        DUE = "due", "Due"  # cleared; the next transfer run sends it
        WAITING_FOR_ACCOUNT = "waiting_for_account", "Waiting for payout details"  # sent once payouts are enabled
        TRANSFERRED = "transferred", "Transferred"  # in the freelancer's Stripe balance, on its way to the bank
        PAID = "paid", "Paid out"  # arrived at the bank
        FAILED = "failed", "Bank payout failed"  # the bank refused; the freelancer must fix their details
        REVERSED = "reversed", "Reversed"  # the transfer was taken back in full
        ON_HOLD = "on_hold", "On hold"  # frozen by a chargeback until staff release it

    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="payout")
    freelancer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts")
    status = models.CharField(max_length=20, choices=Status, default=Status.CLEARING, editable=False)
    amount_cents = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    currency = models.CharField(max_length=3)
    due_at = models.DateTimeField()
    transfer_id = models.CharField(max_length=64, blank=True)
    transferred_at = models.DateTimeField(null=True, blank=True)
    reversed_cents = models.PositiveIntegerField(default=0)
    bank_payout_id = models.CharField(max_length=64, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failure_message = models.TextField(blank=True, help_text="Why the bank payout failed, as the gateway said.")
    last_error = models.TextField(blank=True, help_text="The last transfer attempt's error, for staff.")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-due_at"]
        indexes = [models.Index(fields=["status", "due_at"], name="payouts_status_due_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["transfer_id"], condition=~models.Q(transfer_id=""), name="payouts_one_payout_per_transfer"
            ),
            models.CheckConstraint(condition=models.Q(reversed_cents__lte=models.F("amount_cents")),
                                   name="payouts_reversal_within_amount"),
            models.CheckConstraint(condition=models.Q(amount_cents__gt=0), name="payouts_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Payout for order #{self.order_id} ({self.get_status_display()})"

    @property
    def amount_display(self) -> str:
        return format_cents(self.amount_cents, self.currency)

    @property
    def hold_reason(self) -> str:
        """Why the money is not with the freelancer yet, in words (empty when nothing holds it)."""
        if self.status == self.Status.CLEARING:
            return "Clearing period"
        if self.status == self.Status.WAITING_FOR_ACCOUNT:
            return "Payouts are not enabled for the designer's account"
        if self.status == self.Status.ON_HOLD:
            return self.last_error or "Held: the client opened a card dispute (chargeback)"
        if self.status == self.Status.DUE and self.last_error:
            return f"Transfer failed, will be retried: {self.last_error}"
        return ""

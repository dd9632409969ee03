from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django_countries.fields import CountryField

from cadcam.money import format_cents


class SimulatedPayment(models.Model):
    """A payment of the simulated gateway: the states of a Stripe PaymentIntent with manual
    capture, kept in our database. Used when Stripe is not configured (development, demo,
    tests); clearly marked as test mode wherever a person sees it."""

    status = models.CharField(max_length=32)
    amount_cents = models.PositiveIntegerField()
    refunded_cents = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=64, help_text="What the payment is for, e.g. order-7.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.gateway_id} ({self.status})"

    @property
    def gateway_id(self) -> str:
        return f"sim_pi_{self.pk}"

    @property
    def charge_id(self) -> str:
        return f"sim_ch_{self.pk}"


class SimulatedOperation(models.Model):
    """One gateway call by its idempotency key: a repeated call returns what the first did."""

    idempotency_key = models.CharField(max_length=120, unique=True)
    payment = models.ForeignKey(SimulatedPayment, on_delete=models.CASCADE, related_name="operations")
    operation = models.CharField(max_length=20)
    status_after = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.idempotency_key


class StripeEvent(models.Model):
    """A Stripe webhook event we received, stored once (Stripe retries and repeats them)."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    endpoint = models.CharField(max_length=20, default="platform")  # platform or connect
    account = models.CharField(max_length=64, blank=True, help_text="The connected account it is about, if any.")
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


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
            return "Held: the client opened a card dispute (chargeback)"
        if self.status == self.Status.DUE and self.last_error:
            return f"Transfer failed, will be retried: {self.last_error}"
        return ""


class LedgerEntry(models.Model):
    """One movement of an order's money, with the gateway object that moved it. Rows are
    only ever added; `reconcile` checks that they add up for every order."""

    class Kind(models.TextChoices):
        AUTHORIZED = "authorized", "Authorized"  # card authorization (no money moved yet)
        CAPTURED = "captured", "Captured"  # charged: the platform holds the money
        REFUNDED = "refunded", "Refunded"  # back to the employer's card
        FEE = "fee", "Platform fee"  # kept by the platform
        TRANSFERRED = "transferred", "Transferred"  # to the freelancer's connected account
        REVERSED = "reversed", "Transfer reversed"  # taken back from the freelancer's account
        PAID_OUT = "paid_out", "Paid out"  # from the connected account to the freelancer's bank
        CHARGED_BACK = "charged_back", "Charged back"  # the card holder's bank took the money (chargeback)
        REINSTATED = "reinstated", "Chargeback reinstated"  # a chargeback won: the money came back

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=20, choices=Kind)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    gateway_id = models.CharField(max_length=64, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind"], condition=models.Q(kind__in=["authorized", "captured", "fee", "transferred"]),
                name="ledger_once_per_order_for_some_kinds",
            ),
            models.UniqueConstraint(
                fields=["order", "kind", "gateway_id"], condition=~models.Q(gateway_id=""),
                name="ledger_gateway_object_once",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.order_id} {self.kind} {format_cents(self.amount_cents, self.currency)}"


class SimulatedAccount(models.Model):
    """A connected account of the simulated gateway: onboarding is a local form."""

    email = models.EmailField()
    country = models.CharField(max_length=2)
    reference = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=120, unique=True)
    account_holder = models.CharField(max_length=100, blank=True)
    iban_last4 = models.CharField(max_length=4, blank=True)
    details_submitted = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.gateway_id

    @property
    def gateway_id(self) -> str:
        return f"sim_acct_{self.pk}"


class SimulatedTransfer(models.Model):
    """A transfer of the simulated gateway, and the bank payout that later carries it."""

    account = models.ForeignKey(SimulatedAccount, on_delete=models.PROTECT, related_name="transfers")
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    transfer_group = models.CharField(max_length=64)
    source_transaction = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=120, unique=True)
    amount_reversed_cents = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_out_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.gateway_id

    @property
    def gateway_id(self) -> str:
        return f"sim_tr_{self.pk}"

    @property
    def bank_payout_id(self) -> str:
        return f"sim_po_{self.pk}"

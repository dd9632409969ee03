from django.db import models

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
        PAYOUT_FAILED = "payout_failed", "Bank payout failed"  # a paid-out amount the bank sent back
        CHARGED_BACK = "charged_back", "Charged back"  # the card holder's bank took the money (chargeback)
        REINSTATED = "reinstated", "Chargeback reinstated"  # a chargeback won: the money came back
        REFUND_FAILED = "refund_failed", "Refund failed"  # a refund recorded earlier failed: the money came back
        DISPUTE_FEE = "dispute_fee", "Chargeback fee"  # what the card network charged the platform for a chargeback

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


class SimulatedReversal(models.Model):
    """A transfer reversal of the simulated gateway (money taken back from a designer's account)."""

    transfer = models.ForeignKey(SimulatedTransfer, on_delete=models.PROTECT, related_name="reversals")
    amount_cents = models.PositiveIntegerField()
    idempotency_key = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"sim_trr_{self.pk}"


class MoneyOperation(models.Model):
    """One gateway call that moves money (or sets a payment up), recorded before it is made.

    The attempt is committed in its own transaction before the call, and its outcome with
    the work it leads to after it (payments/operations.py). So when the call succeeds at the
    gateway but our transaction is lost (no answer, a killed worker, a failed commit), the
    attempt stays `started`, and the recovery job asks the gateway what happened and
    finishes the work. While an order has an attempt in that state, nothing else may act on
    it. Each attempt has its own idempotency key: a replay gets the first answer, a retry
    with other parameters gets a new key."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment set up"  # the PaymentIntent the client's card authorizes
        CAPTURE = "capture", "Capture"
        CANCEL = "cancel", "Authorization released"
        REFUND = "refund", "Refund"
        TRANSFER = "transfer", "Transfer to the designer"
        REVERSAL = "reversal", "Transfer reversal"

    class State(models.TextChoices):
        STARTED = "started", "Outcome not known yet"  # committed before the call; no outcome recorded
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed: nothing moved"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="money_operations")
    kind = models.CharField(max_length=20, choices=Kind)
    purpose = models.CharField(max_length=40, help_text="The step that made it and finishes it, e.g. order.accept.")
    attempt = models.PositiveSmallIntegerField()
    idempotency_key = models.CharField(max_length=120, unique=True)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    params = models.JSONField(default=dict, blank=True, help_text="What the gateway call is given besides the key.")
    context = models.JSONField(default=dict, blank=True, help_text="What finishing the step needs (who, why).")
    state = models.CharField(max_length=20, choices=State, default=State.STARTED)
    gateway_id = models.CharField(max_length=64, blank=True, help_text="What the call made at the gateway.")
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, help_text="Why it failed, as the gateway said, or why finishing it failed "
                                                   "(for staff).")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    checks = models.PositiveIntegerField(default=0, help_text="Times the recovery job asked the gateway.")
    last_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["state", "started_at"], name="payments_operation_state_idx")]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=models.Q(state="started"),
                                    name="payments_one_unknown_outcome_per_order"),
            models.UniqueConstraint(fields=["order", "kind", "attempt"], name="payments_attempt_numbers_once"),
            models.CheckConstraint(condition=models.Q(state="started") | models.Q(finished_at__isnull=False),
                                   name="payments_finished_with_a_time"),
        ]

    def __str__(self) -> str:
        return f"{self.idempotency_key} ({self.get_state_display()})"

    @property
    def amount_display(self) -> str:
        return format_cents(self.amount_cents, self.currency)

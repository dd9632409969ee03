from django.db import models


class SimulatedPayment(models.Model):
    """A payment of the simulated gateway: the states of a Stripe PaymentIntent with manual
    capture, kept in our database. Used when Stripe is not configured (development, demo,
    tests); clearly marked as test mode wherever a person sees it."""

    status = models.CharField(max_length=32)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=64, help_text="What the payment is for, e.g. order-7.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.gateway_id} ({self.status})"

    @property
    def gateway_id(self) -> str:
        return f"sim_pi_{self.pk}"


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
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    """The money core: the payment gateway and its two backends, the fee, the ledger and
    reconciliation, and Stripe's webhooks (apps above register the events they own)."""

    name = "payments"
    verbose_name = "Payments and ledger"

    def ready(self):
        from payments import metrics, refunds  # noqa: F401  (register /metrics sources and the refund events)

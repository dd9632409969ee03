from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = "Payouts"

    def ready(self):
        # Start-up registrations with the apps below (Django's place for them; see docs/architecture.md).
        from accounts.registry import register_export_section
        from payments.reconcile import register_reconcile_check
        from payouts import webhooks  # noqa: F401  (registers the Stripe events payouts own)
        from payouts.reconcile import payouts_reconcile
        from payouts.selectors import payouts_export

        register_export_section("payouts", payouts_export)
        register_reconcile_check("payouts", payouts_reconcile)

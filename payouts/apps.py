from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = "Payouts"

    def ready(self):
        # Start-up registrations with the apps below (Django's place for them; see docs/architecture.md).
        from accounts.registry import register_export_section
        from payments.operations import register_finisher
        from payments.reconcile import register_gateway_check, register_reconcile_check
        from payouts import metrics, webhooks  # noqa: F401  (register /metrics sources and payouts' Stripe events)
        from payouts.reconcile import payouts_reconcile, payouts_reconcile_gateway
        from payouts.selectors import payouts_export
        from payouts.services import FINISHERS

        register_export_section("payouts", payouts_export)
        register_reconcile_check("payouts", payouts_reconcile)
        register_gateway_check("payouts", payouts_reconcile_gateway)
        for purpose, finisher in FINISHERS.items():
            register_finisher(purpose, finisher)

from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "disputes"
    verbose_name = "Disputes"

    def ready(self):
        # Start-up registrations with the apps below (Django's place for them; see docs/architecture.md).
        from accounts.registry import register_export_section
        from disputes import webhooks  # noqa: F401  (registers the chargeback events)
        from disputes.selectors import chargeback_holds, chargebacks_reconcile, disputes_opened_export
        from disputes.services import FINISHERS
        from payments.operations import register_finisher
        from payments.reconcile import register_reconcile_check
        from payouts.holds import register_hold_check

        register_export_section("disputes_opened", disputes_opened_export)
        register_hold_check("chargeback", chargeback_holds)
        register_reconcile_check("chargebacks", chargebacks_reconcile)
        for purpose, finisher in FINISHERS.items():
            register_finisher(purpose, finisher)

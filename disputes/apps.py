from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "disputes"
    verbose_name = "Disputes"

    def ready(self):
        # Start-up registrations with the apps below (Django's place for them; see docs/architecture.md).
        from accounts.registry import register_export_section
        from disputes import webhooks  # noqa: F401  (registers the chargeback events)
        from disputes.selectors import chargeback_holds, disputes_opened_export
        from payouts.holds import register_hold_check

        register_export_section("disputes_opened", disputes_opened_export)
        register_hold_check("chargeback", chargeback_holds)

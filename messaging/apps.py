from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messages"

    def ready(self):
        # Start-up registrations with the apps below (Django's place for them; see docs/architecture.md).
        from accounts.registry import register_export_section
        from messaging import badge
        from messaging.selectors import messages_sent_export

        badge.connect_signals()
        register_export_section("messages_sent", messages_sent_export)

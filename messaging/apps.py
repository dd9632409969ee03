from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messages"

    def ready(self):
        # Start-up registrations with the apps below (Django's place for them; see docs/architecture.md).
        from accounts.registry import register_export_section
        from listings.contacts import register_contact_source
        from messaging import badge
        from messaging.selectors import conversation_partner_ids, messages_sent_export

        badge.connect_signals()
        register_export_section("messages_sent", messages_sent_export)
        register_contact_source("conversations", conversation_partner_ids)

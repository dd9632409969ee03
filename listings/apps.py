from django.apps import AppConfig


class ListingsConfig(AppConfig):
    name = "listings"

    def ready(self):
        # Start-up registrations with the apps below (Django's place for them; see docs/architecture.md).
        from accounts.registry import register_export_section, register_verified_hook
        from listings import browse_cache
        from listings.selectors import favorites_export, listings_export
        from listings.services import listings_publish_approved

        register_verified_hook("listings", lambda user: listings_publish_approved(owner=user))
        register_export_section("listings", listings_export)
        register_export_section("favorites", favorites_export)
        browse_cache.connect_signals()

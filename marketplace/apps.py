from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    """The top layer: pages that gather every app (home, dashboard, public profiles) and the
    demo seed. Nothing imports it."""

    name = "marketplace"
    verbose_name = "Marketplace"

    def ready(self):
        from marketplace import selling

        selling.connect_signals()

from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews"

    def ready(self):
        # Start-up registrations with the apps below (Django's place for them; see docs/architecture.md).
        from accounts.registry import register_export_section
        from reviews import shown
        from reviews.selectors import reviews_written_export

        shown.connect_signals()
        register_export_section("reviews_written", reviews_written_export)

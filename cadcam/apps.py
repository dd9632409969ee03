from django.apps import AppConfig


class CadcamConfig(AppConfig):
    """The project package is an app too: it owns the shared templates tags,
    management commands and tasks that belong to no single feature."""

    name = "cadcam"
    verbose_name = "CadCam Masters"

    def ready(self):
        from allauth.mfa.signals import authenticator_added

        from cadcam.staff import second_factor_set_up

        authenticator_added.connect(second_factor_set_up, dispatch_uid="cadcam.staff.second_factor_set_up")

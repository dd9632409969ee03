from django.apps import AppConfig


class CadcamConfig(AppConfig):
    """The project package is an app too: it owns the shared templates tags,
    management commands and tasks that belong to no single feature."""

    name = "cadcam"
    verbose_name = "CadCam Masters"

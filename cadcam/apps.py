from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CadcamConfig(AppConfig):
    """The project package is an app too: it owns the shared templates tags,
    management commands and tasks that belong to no single feature."""

    default = True  # this module also holds StaffAdminConfig
    name = "cadcam"
    verbose_name = "CadCam Masters"

    def ready(self):
        from allauth.mfa.signals import authenticator_added

        from cadcam.staff import second_factor_set_up

        authenticator_added.connect(second_factor_set_up, dispatch_uid="cadcam.staff.second_factor_set_up")


class StaffAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with our site (cadcam/admin_site.py) as `admin.site`."""

    default = False
    default_site = "cadcam.admin_site.StaffAdminSite"

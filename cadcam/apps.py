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
        from celery.signals import before_task_publish, task_postrun, task_prerun
        from django.apps import apps
        from django.db.models import FileField
        from django.db.models.signals import post_delete

        from cadcam import metrics  # noqa: F401  (registers the jobs' /metrics source)
        from cadcam.observability import task_finished, task_published, task_started
        from cadcam.staff import second_factor_set_up
        from cadcam.storage import delete_files_on_commit

        authenticator_added.connect(second_factor_set_up, dispatch_uid="cadcam.staff.second_factor_set_up")
        before_task_publish.connect(task_published, dispatch_uid="cadcam.observability.task_published")
        task_prerun.connect(task_started, dispatch_uid="cadcam.observability.task_started")
        task_postrun.connect(task_finished, dispatch_uid="cadcam.observability.task_finished")
        for model in apps.get_models():
            if any(isinstance(field, FileField) for field in model._meta.concrete_fields):
                post_delete.connect(delete_files_on_commit, sender=model,
                                    dispatch_uid=f"cadcam.storage.delete_files_on_commit:{model._meta.label}")


class StaffAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with our site (cadcam/admin_site.py) as `admin.site`."""

    default = False
    default_site = "cadcam.admin_site.StaffAdminSite"

from django.conf import settings
from django.db import migrations


def name_site(apps, schema_editor):
    """allauth's e-mails and pages name the site; make it ours instead of example.com."""
    Site = apps.get_model("sites", "Site")
    Site.objects.update_or_create(
        id=settings.SITE_ID, defaults={"name": "CadCam Masters", "domain": settings.SITE_DOMAIN}
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("sites", "0002_alter_domain_unique")]

    operations = [migrations.RunPython(name_site, migrations.RunPython.noop)]

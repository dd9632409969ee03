from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_order_refunded_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderfile",
            name="hide_patient_data",
            field=models.BooleanField(
                default=True, help_text="Patient fields of exocad files are shown only to the uploader and staff."
            ),
        ),
    ]

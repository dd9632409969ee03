from django.db import migrations
from django.db.models import OuterRef, Subquery


def owed_from_payouts(apps, schema_editor):
    """Orders completed before issue 12 had their payout made in the same transaction: what
    they owe the designer is that payout's amount."""
    order = apps.get_model("orders", "Order")
    payout = apps.get_model("payouts", "Payout")
    amount = payout.objects.filter(order_id=OuterRef("pk")).values("amount_cents")[:1]
    order.objects.filter(owed_cents__isnull=True, payout__isnull=False).update(owed_cents=Subquery(amount))


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0005_order_owed_cents"),
        ("payouts", "0007_move_money_core_to_payments"),
    ]

    operations = [
        migrations.RunPython(owed_from_payouts, migrations.RunPython.noop),
    ]

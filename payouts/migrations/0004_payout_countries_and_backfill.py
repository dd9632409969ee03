"""Seed the countries Stripe Connect pays out to from our US platform, and give orders made
before the ledger existed their ledger rows and payouts, so `reconcile` holds for them too."""

from datetime import timedelta

from django.db import migrations

# Stripe's self-serve cross-border payouts: a US platform pays out to the US, the UK, the
# EEA, Canada and Switzerland. Staff extend the list in admin as Stripe adds countries.
PAYOUT_COUNTRIES = [
    "US", "GB", "CA", "CH",
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IS", "IE", "IT",
    "LV", "LI", "LT", "LU", "MT", "NL", "NO", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
]
CAPTURED_STATES = {"accepted", "delivered", "disputed", "completed"}


def seed(apps, schema_editor):
    PayoutCountry = apps.get_model("payouts", "PayoutCountry")
    for code in PAYOUT_COUNTRIES:
        PayoutCountry.objects.get_or_create(country=code)

    Order = apps.get_model("orders", "Order")
    LedgerEntry = apps.get_model("payouts", "LedgerEntry")
    Payout = apps.get_model("payouts", "Payout")
    # Orders dropped before anyone paid were never authorized: nothing to record.
    for order in Order.objects.filter(authorized_at__isnull=False).iterator():
        if order.ledger.exists():
            continue
        LedgerEntry.objects.create(order=order, kind="authorized", amount_cents=order.total_cents,
                                   currency=order.currency, gateway_id=order.payment_id, note="backfilled")
        if order.status not in CAPTURED_STATES:
            continue
        # The simulated gateway names a payment's charge after it; a transfer draws on the charge.
        # For Stripe the PaymentIntent id is kept: payouts look its charge up when they transfer.
        charge = order.payment_id.replace("sim_pi_", "sim_ch_", 1)
        LedgerEntry.objects.create(order=order, kind="captured", amount_cents=order.total_cents,
                                   currency=order.currency, gateway_id=charge, note="backfilled")
        if order.status == "completed":
            LedgerEntry.objects.create(order=order, kind="fee", amount_cents=order.fee_cents,
                                       currency=order.currency, note="backfilled")
            Payout.objects.create(order=order, freelancer_id=order.freelancer_id, amount_cents=order.net_cents,
                                  currency=order.currency,
                                  due_at=order.payout_due_at or order.completed_at + timedelta(days=7))


class Migration(migrations.Migration):
    dependencies = [
        ("payouts", "0003_connect_payouts_ledger"),
        ("orders", "0003_order_refunded_at"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

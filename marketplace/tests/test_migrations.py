"""Issue 12 moved the money core's models from payouts to payments without copying a row:
a database with the old layout and data in it is migrated forward, and every row is still
there under its new owner, with what completed orders owe taken from their payouts."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.tests.helpers import make_user
from listings.tests.helpers import make_published
from orders.models import Order
from payments.models import LedgerEntry, SimulatedOperation, SimulatedPayment, StripeEvent
from payouts.models import Payout

BEFORE = [
    ("orders", "0004_orderfile_hide_patient_data"),
    ("payouts", "0006_chargeback_ledger_positive_payouts"),
    ("payments", None),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([target for target in targets if target[1]]).apps


def latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def seed_old_layout(apps) -> dict:
    """A completed order with its payment, ledger, payout and a stored Stripe event, written
    through the models as they were before the move."""
    listing = make_published()  # accounts and listings are not part of the move
    employer, designer = make_user(), listing.owner
    order = apps.get_model("orders", "Order").objects.create(
        employer_id=employer.pk, freelancer_id=designer.pk, listing_id=listing.pk, title="Crowns",
        unit_price_cents=10000, total_cents=10000, fee_cents=900, net_cents=9100, revisions_included=1,
        turnaround_days=2, status="completed", payment_id="sim_pi_1",
    )
    payment = apps.get_model("payouts", "SimulatedPayment").objects.create(
        status="succeeded", amount_cents=10000, currency="USD", reference=f"order-{order.pk}")
    apps.get_model("payouts", "SimulatedOperation").objects.create(
        idempotency_key=f"capture:order-{order.pk}", payment=payment, operation="capture", status_after="succeeded")
    ledger = apps.get_model("payouts", "LedgerEntry")
    for kind, cents in (("authorized", 10000), ("captured", 10000), ("fee", 900)):
        ledger.objects.create(order=order, kind=kind, amount_cents=cents, currency="USD", gateway_id=f"x-{kind}")
    apps.get_model("payouts", "StripeEvent").objects.create(event_id="evt_old", type="account.updated",
                                                            payload={"id": "evt_old"})
    apps.get_model("payouts", "Payout").objects.create(
        order=order, freelancer_id=designer.pk, amount_cents=9100, currency="USD", due_at=order.created_at)
    return {"order": order.pk, "payment": payment.pk}


@pytest.mark.django_db(transaction=True)
def test_the_money_core_moves_to_payments_with_every_row():
    try:
        old_apps = migrate(BEFORE)
        ids = seed_old_layout(old_apps)
        ContentType.objects.get_or_create(app_label="payouts", model="ledgerentry")
    finally:
        migrate(latest())

    order = Order.objects.get(pk=ids["order"])
    assert order.owed_cents == 9100  # from its payout
    assert sorted(LedgerEntry.objects.filter(order=order).values_list("kind", "amount_cents")) == [
        ("authorized", 10000), ("captured", 10000), ("fee", 900)]
    assert SimulatedPayment.objects.get(pk=ids["payment"]).status == "succeeded"
    assert SimulatedOperation.objects.get().idempotency_key == f"capture:order-{order.pk}"
    assert StripeEvent.objects.get().event_id == "evt_old"
    assert Payout.objects.get().order_id == order.pk
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    assert {"payments_ledgerentry", "payments_stripeevent", "payments_simulatedpayment"} <= tables
    assert not {"payouts_ledgerentry", "payouts_stripeevent", "payouts_simulatedpayment"} & tables
    # Staff permissions and admin history follow the model to its new app.
    assert ContentType.objects.filter(app_label="payments", model="ledgerentry").count() == 1
    assert not ContentType.objects.filter(app_label="payouts", model="ledgerentry").exists()

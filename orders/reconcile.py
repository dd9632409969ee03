"""The order's part of reconciliation (registered with payments in OrdersConfig.ready()).

By its state alone, an order tells what its money should be doing: nothing captured until
it is accepted; all of it held while the work goes on (less any refund); nothing held once
refunded or released. A completed order must have kept exactly what it recorded as owed to
the designer; where that money is now is the payouts check's part."""

from __future__ import annotations

from datetime import datetime

from orders.models import Order
from payments.ledger import Balance
from payments.models import LedgerEntry
from payments.reconcile import Report

S = Order.Status
K = LedgerEntry.Kind

CAPTURED_STATES = {S.ACCEPTED, S.DELIVERED, S.DISPUTED, S.COMPLETED, S.REFUNDED}
IN_PROGRESS = {S.ACCEPTED, S.DELIVERED, S.DISPUTED}


def orders_reconcile(*, balances: dict[int, Balance], report: Report, now: datetime) -> None:
    fields = ("pk", "status", "total_cents", "owed_cents", "currency")
    for order in Order.objects.only(*fields).order_by("pk").iterator(chunk_size=2000):
        report.orders += 1
        balance = balances[order.pk]
        label = f"Order #{order.pk} ({order.status})"
        if order.status in CAPTURED_STATES:
            if balance[K.CAPTURED] != order.total_cents:
                report.problems.append(f"{label}: captured {balance[K.CAPTURED]}, order total {order.total_cents}")
        elif balance[K.CAPTURED]:
            report.problems.append(f"{label}: money captured for an order that was never accepted")
        if order.status == S.COMPLETED:
            if order.owed_cents is None or balance.kept_by_platform != order.owed_cents:
                report.problems.append(
                    f"{label}: captured {balance[K.CAPTURED]} - refunded {balance[K.REFUNDED]} - fee {balance[K.FEE]}"
                    f" != owed to the designer {order.owed_cents}"
                )
            continue  # where the designer's share is now: payouts' check
        held = order.total_cents - balance[K.REFUNDED] if order.status in IN_PROGRESS else 0
        held -= balance.charged_back
        if balance.held != held:
            report.problems.append(
                f"{label}: captured {balance[K.CAPTURED]} != refunded {balance[K.REFUNDED]} + fee {balance[K.FEE]}"
                f" + transferred {balance[K.TRANSFERRED] - balance[K.REVERSED]} + held {held}"
            )

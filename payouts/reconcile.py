"""The payouts' part of reconciliation (registered with payments in PayoutsConfig.ready()).

For a completed order, the designer's share (what the order recorded as owed) is held by the
platform until its payout is transferred, and only what was reversed stays after that. Each
completed order gets its payout opened soon after completion, and transferred once it has
cleared unless something recorded holds it."""

from __future__ import annotations

from datetime import datetime, timedelta

from orders.models import Order
from payments.ledger import Balance
from payments.models import LedgerEntry
from payments.reconcile import Report
from payouts.models import Payout

P = Payout.Status
K = LedgerEntry.Kind

# A payout still clearing this long after its due date, or an order completed this long
# without a payout, means the scheduled run is not running.
OVERDUE_AFTER = timedelta(hours=1)
LEFT_THE_PLATFORM = {P.TRANSFERRED, P.PAID, P.FAILED, P.REVERSED}


def payouts_reconcile(*, balances: dict[int, Balance], report: Report, now: datetime) -> None:
    payouts = {payout.order_id: payout for payout in Payout.objects.all()}
    completed = Order.objects.filter(status=Order.Status.COMPLETED).only("pk", "status", "owed_cents",
                                                                          "completed_at")
    for order in completed.order_by("pk").iterator(chunk_size=2000):
        balance = balances[order.pk]
        payout = payouts.get(order.pk)
        label = f"Order #{order.pk} ({order.status})"
        owed = order.owed_cents or 0
        if payout is None:
            held = owed
            if order.completed_at <= now - OVERDUE_AFTER:
                report.problems.append(f"{label}: completed on {order.completed_at:%Y-%m-%d} without a payout "
                                       "(is the payouts task running?)")
        else:
            held = payout.reversed_cents if payout.status in LEFT_THE_PLATFORM else payout.amount_cents
            if payout.amount_cents != owed:
                report.problems.append(f"{label}: payout of {payout.amount_cents}, owed {owed}")
            if payout.due_at <= now - OVERDUE_AFTER and not balance[K.TRANSFERRED] and (
                    not payout.hold_reason or payout.status == P.CLEARING):
                report.problems.append(f"{label}: cleared on {payout.due_at:%Y-%m-%d} but not transferred, "
                                       "and no reason is recorded (is the payouts task running?)")
            if balance[K.TRANSFERRED] and balance[K.TRANSFERRED] != payout.amount_cents:
                report.problems.append(f"{label}: transferred {balance[K.TRANSFERRED]}, payout {payout.amount_cents}")
        held -= balance.charged_back
        if balance.held != held:
            report.problems.append(
                f"{label}: captured {balance[K.CAPTURED]} != refunded {balance[K.REFUNDED]} + fee {balance[K.FEE]}"
                f" + transferred {balance[K.TRANSFERRED] - balance[K.REVERSED]} + held {held}"
            )

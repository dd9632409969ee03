"""The ledger: every movement of an order's money as a row, and the check that they add up.

For every order, what was captured must equal what was refunded, kept as the fee,
transferred to the freelancer (less what was reversed), and what the platform still holds.
What it still holds is known independently from the order's state: all of it while the work
goes on, the freelancer's net while the payout clears, nothing once transferred or refunded.
`python manage.py reconcile` runs `reconcile()` over all orders."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Sum
from django.utils import timezone

from payouts.models import LedgerEntry, Payout

K = LedgerEntry.Kind


# Kinds an order has at most once; other kinds are told apart by their gateway object.
ONCE_PER_ORDER = {K.AUTHORIZED, K.CAPTURED, K.FEE, K.TRANSFERRED}


def ledger_record(*, order, kind: str, amount_cents: int, gateway_id: str = "", note: str = "") -> LedgerEntry:
    """Add a movement. Recording a once-per-order kind, or the same gateway object, again
    returns the existing row: a repeated webhook or a retry cannot count money twice."""
    if kind in ONCE_PER_ORDER:
        existing = order.ledger.filter(kind=kind).first()
    elif gateway_id:
        existing = order.ledger.filter(kind=kind, gateway_id=gateway_id).first()
    else:
        existing = None
    if existing:
        return existing
    return LedgerEntry.objects.create(order=order, kind=kind, amount_cents=amount_cents, currency=order.currency,
                                      gateway_id=gateway_id, note=note)


@dataclass
class Balance:
    """An order's money by kind of movement, in cents."""

    amounts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def __getitem__(self, kind: str) -> int:
        return self.amounts[kind]

    @property
    def charged_back(self) -> int:
        """What a lost chargeback took, less what a won one gave back."""
        return self[K.CHARGED_BACK] - self[K.REINSTATED]

    @property
    def held(self) -> int:
        """What the platform still holds for the order, by the ledger."""
        return (self[K.CAPTURED] - self[K.REFUNDED] - self[K.FEE] - self[K.TRANSFERRED] + self[K.REVERSED]
                - self.charged_back)


def expected_held(order, payout: Payout | None, *, refunded: int = 0, charged_back: int = 0) -> int:
    """What the platform should hold for this order, from its state alone (less what a lost
    chargeback took: then it can be below zero, the platform's loss)."""
    from orders.models import Order

    S = Order.Status
    held = 0
    if order.status in (S.ACCEPTED, S.DELIVERED, S.DISPUTED):
        held = order.total_cents - refunded
    elif order.status == S.COMPLETED and payout is not None:
        if payout.status in (Payout.Status.TRANSFERRED, Payout.Status.PAID, Payout.Status.FAILED,
                             Payout.Status.REVERSED):
            held = payout.reversed_cents
        else:
            held = payout.amount_cents
    return held - charged_back


def refunded_so_far(order) -> int:
    return order.ledger.filter(kind=K.REFUNDED).aggregate(total=Sum("amount_cents"))["total"] or 0


# A payout still clearing this long after its due date means the scheduled run is not running.
OVERDUE_AFTER = timedelta(hours=1)


@dataclass
class Report:
    orders: int = 0
    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    problems: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)  # lost chargebacks: consistent, but money the platform lost

    @property
    def ok(self) -> bool:
        return not self.problems


def reconcile(*, now: datetime | None = None) -> Report:
    """Check every order's ledger; returns the totals and a list of problems (empty when all is well)."""
    from orders.models import Order

    now = now or timezone.now()
    report = Report()
    balances: dict[int, Balance] = defaultdict(Balance)
    for row in LedgerEntry.objects.values("order_id", "kind").annotate(total=Sum("amount_cents"), n=Count("pk")):
        balances[row["order_id"]].amounts[row["kind"]] += row["total"]
        balances[row["order_id"]].counts[row["kind"]] += row["n"]
        report.totals[row["kind"]] += row["total"]
    payouts = {payout.order_id: payout for payout in Payout.objects.all()}
    S = Order.Status
    for order in Order.objects.only("pk", "status", "total_cents", "fee_cents", "net_cents", "currency").iterator():
        report.orders += 1
        balance = balances.get(order.pk, Balance())
        payout = payouts.get(order.pk)
        label = f"Order #{order.pk} ({order.status})"
        for kind in (K.CAPTURED, K.FEE, K.TRANSFERRED):
            if balance.counts[kind] > 1:
                report.problems.append(f"{label}: {balance.counts[kind]} {kind} entries")
        captured_expected = order.status in (S.ACCEPTED, S.DELIVERED, S.DISPUTED, S.COMPLETED, S.REFUNDED)
        if captured_expected and balance[K.CAPTURED] != order.total_cents:
            report.problems.append(f"{label}: captured {balance[K.CAPTURED]}, order total {order.total_cents}")
        if not captured_expected and balance[K.CAPTURED]:
            report.problems.append(f"{label}: money captured for an order that was never accepted")
        held = expected_held(order, payout, refunded=balance[K.REFUNDED], charged_back=balance.charged_back)
        if balance.charged_back > 0:
            report.losses.append(f"{label}: lost a chargeback of {balance.charged_back} cents")
        if balance.held != held:
            report.problems.append(
                f"{label}: captured {balance[K.CAPTURED]} != refunded {balance[K.REFUNDED]} + fee {balance[K.FEE]}"
                f" + transferred {balance[K.TRANSFERRED] - balance[K.REVERSED]} + held {held}"
            )
        if order.status == S.COMPLETED:
            if payout is None:
                report.problems.append(f"{label}: completed without a payout record")
            elif payout.due_at <= now - OVERDUE_AFTER and not balance[K.TRANSFERRED] and (
                    not payout.hold_reason or payout.status == Payout.Status.CLEARING):
                report.problems.append(f"{label}: cleared on {payout.due_at:%Y-%m-%d} but not transferred, "
                                       "and no reason is recorded (is the payouts task running?)")
            if payout and balance[K.TRANSFERRED] and balance[K.TRANSFERRED] != payout.amount_cents:
                report.problems.append(f"{label}: transferred {balance[K.TRANSFERRED]}, payout {payout.amount_cents}")
    return report

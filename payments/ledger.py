"""The ledger: every movement of an order's money as a row, added once and never changed.

`ledger_record` adds a movement; `ledger_balances` sums them per order. Whether the sums
are right for each order's state is checked by `reconcile` (payments/reconcile.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Sum

from payments.models import LedgerEntry

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
    def refunded(self) -> int:
        """What went back to the card, less refunds that failed afterwards."""
        return self[K.REFUNDED] - self[K.REFUND_FAILED]

    @property
    def kept_by_platform(self) -> int:
        """Captured, less what went back to the card and the platform's fee: the designer's share."""
        return self[K.CAPTURED] - self.refunded - self[K.FEE]

    @property
    def held(self) -> int:
        """What the platform still holds for the order, by the ledger."""
        return self.kept_by_platform - self[K.TRANSFERRED] + self[K.REVERSED] - self.charged_back


def ledger_balances(order_ids=None) -> dict[int, Balance]:
    """Every order's balance (or those of `order_ids`), in one query."""
    rows = LedgerEntry.objects.all()
    if order_ids is not None:
        rows = rows.filter(order_id__in=order_ids)
    balances: dict[int, Balance] = defaultdict(Balance)
    for row in rows.values("order_id", "kind").annotate(total=Sum("amount_cents"), n=Count("pk")).order_by():
        balances[row["order_id"]].amounts[row["kind"]] += row["total"]
        balances[row["order_id"]].counts[row["kind"]] += row["n"]
    return balances


def refunded_so_far(order) -> int:
    """What went back to the client's card, less refunds that failed afterwards."""
    totals = dict(order.ledger.filter(kind__in=[K.REFUNDED, K.REFUND_FAILED]).values("kind")
                  .annotate(total=Sum("amount_cents")).values_list("kind", "total").order_by())
    return totals.get(K.REFUNDED, 0) - totals.get(K.REFUND_FAILED, 0)

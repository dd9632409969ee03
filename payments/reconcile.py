"""Reconciliation: does every order's money add up?

For every order, what was captured must equal what was refunded, kept as the fee,
transferred to the designer (less what was reversed), taken by a lost chargeback, and what
the platform still holds. The ledger knows the movements; what the platform *should* still
hold depends on the order's state and its payout, which live in apps above this one. So
those apps register checks here (`register_reconcile_check`, from AppConfig.ready()): each
is given every order's ledger balance and adds what it finds to the report.
`python manage.py reconcile` runs them all and exits non-zero on any problem."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from payments.ledger import ONCE_PER_ORDER, Balance, ledger_balances


@dataclass
class Report:
    orders: int = 0
    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    problems: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)  # lost chargebacks: consistent, but money the platform lost

    @property
    def ok(self) -> bool:
        return not self.problems


# check(balances=..., report=..., now=...) adds problems (and counts the orders it looked at).
ReconcileCheck = Callable[..., None]
RECONCILE_CHECKS: dict[str, ReconcileCheck] = {}


def register_reconcile_check(name: str, check: ReconcileCheck) -> None:
    RECONCILE_CHECKS[name] = check


def reconcile(*, now: datetime | None = None) -> Report:
    """Check every order's ledger; returns the totals and a list of problems (empty when all is well)."""
    now = now or timezone.now()
    report = Report()
    balances = ledger_balances()
    for order_id, balance in sorted(balances.items()):
        for kind in ONCE_PER_ORDER:
            if balance.counts[kind] > 1:
                report.problems.append(f"Order #{order_id}: {balance.counts[kind]} {kind} entries")
        for kind, amount in balance.amounts.items():
            report.totals[kind] += amount
        if balance.charged_back > 0:
            report.losses.append(f"Order #{order_id}: lost a chargeback of {balance.charged_back} cents")
    for check in RECONCILE_CHECKS.values():
        check(balances=defaultdict(Balance, balances), report=report, now=now)
    return report

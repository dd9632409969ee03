"""Reconciliation: does every order's money add up, and does the ledger agree with the gateway?

`reconcile()` checks the ledger against itself and against each order's state. For every
order, what was captured must equal what was refunded, kept as the fee, transferred to the
designer (less what was reversed), taken by a lost chargeback, and what the platform still
holds. The ledger knows the movements; what the platform *should* still hold depends on the
order's state and its payout, which live in apps above this one. So those apps register
checks here (`register_reconcile_check`, from AppConfig.ready()): each is given every
order's ledger balance and adds what it finds to the report.

`reconcile_gateway()` asks the gateway for each order's objects (the PaymentIntent, its
refunds, the transfers of the order's group and their reversals, its card disputes) and
compares them with the ledger; apps register what they know to compare besides
(`register_gateway_check`: the PaymentIntent's status against the order's state, bank
payouts against payouts). `python manage.py reconcile [--gateway] [--since]` runs them and
exits non-zero on any difference; a daily job e-mails staff when there is one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from payments.backends import get_gateway
from payments.gateway import CardDispute, GatewayError, Payment, PaymentGateway, Refund, Transfer
from payments.ledger import ONCE_PER_ORDER, Balance, ledger_balances
from payments.models import LedgerEntry, MoneyOperation

K = LedgerEntry.Kind
# An attempt whose outcome is still unknown this long after it started means the recovery
# job is not running, or cannot finish it: staff look.
UNKNOWN_OUTCOME_FLAGGED_AFTER = timedelta(hours=1)


@dataclass
class Report:
    orders: int = 0
    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    problems: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)  # lost chargebacks and their fees: consistent, but lost

    @property
    def ok(self) -> bool:
        return not self.problems


# check(balances=..., report=..., now=...) adds problems (and counts the orders it looked at).
ReconcileCheck = Callable[..., None]
RECONCILE_CHECKS: dict[str, ReconcileCheck] = {}
# check(order=..., snapshot=..., balance=..., report=...) compares one order with the gateway.
GatewayCheck = Callable[..., None]
GATEWAY_CHECKS: dict[str, GatewayCheck] = {}


def register_reconcile_check(name: str, check: ReconcileCheck) -> None:
    RECONCILE_CHECKS[name] = check


def register_gateway_check(name: str, check: GatewayCheck) -> None:
    GATEWAY_CHECKS[name] = check


def _order_model():
    return LedgerEntry._meta.get_field("order").related_model


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
        if balance[K.DISPUTE_FEE]:
            report.losses.append(f"Order #{order_id}: chargeback fees of {balance[K.DISPUTE_FEE]} cents")
    stuck = MoneyOperation.objects.filter(state=MoneyOperation.State.STARTED,
                                          started_at__lte=now - UNKNOWN_OUTCOME_FLAGGED_AFTER)
    for operation in stuck.order_by("started_at"):
        report.problems.append(f"Order #{operation.order_id}: {operation.idempotency_key} "
                               f"({operation.amount_display}) started {operation.started_at:%Y-%m-%d %H:%M} and "
                               f"its outcome is still unknown after {operation.checks} check(s)")
    for check in RECONCILE_CHECKS.values():
        check(balances=defaultdict(Balance, balances), report=report, now=now)
    return report


# --- the ledger against the gateway ---------------------------------------------------------------


@dataclass
class GatewaySnapshot:
    """An order's objects as the gateway has them now."""

    payment: Payment | None = None
    refunds: list[Refund] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    disputes: list[CardDispute] = field(default_factory=list)

    @property
    def refunded_cents(self) -> int:
        return sum(refund.amount_cents for refund in self.refunds if refund.returned)

    @property
    def transferred_cents(self) -> int:
        return sum(transfer.amount_cents for transfer in self.transfers)

    @property
    def reversed_cents(self) -> int:
        return sum(transfer.amount_reversed_cents for transfer in self.transfers)

    @property
    def charged_back_cents(self) -> int:
        return sum(dispute.withdrawn_cents for dispute in self.disputes)

    @property
    def dispute_fees_cents(self) -> int:
        return sum(dispute.fee_cents for dispute in self.disputes)


def gateway_snapshot(gateway: PaymentGateway, order) -> GatewaySnapshot:
    snapshot = GatewaySnapshot()
    if order.payment_id:
        snapshot.payment = gateway.retrieve(order.payment_id)
        snapshot.refunds = gateway.list_refunds(order.payment_id)
        snapshot.disputes = gateway.list_card_disputes(order.payment_id)
    snapshot.transfers = gateway.list_transfers(transfer_group=f"order-{order.pk}")
    return snapshot


def ledger_against_gateway(order, snapshot: GatewaySnapshot, balance: Balance) -> list[str]:
    """What the gateway says moved, against what the ledger says, kind by kind."""
    label = f"Order #{order.pk} ({order.status})"
    pairs = [("captured", snapshot.payment.amount_received_cents if snapshot.payment else 0, balance[K.CAPTURED]),
             ("refunded", snapshot.refunded_cents, balance.refunded),
             ("transferred", snapshot.transferred_cents, balance[K.TRANSFERRED]),
             ("reversed", snapshot.reversed_cents, balance[K.REVERSED]),
             ("charged back", snapshot.charged_back_cents, balance.charged_back),
             ("in chargeback fees", snapshot.dispute_fees_cents, balance[K.DISPUTE_FEE])]
    problems = [f"{label}: {at_gateway} {what} at the gateway, {in_ledger} in the ledger"
                for what, at_gateway, in_ledger in pairs if at_gateway != in_ledger]
    recorded = set(LedgerEntry.objects.filter(order_id=order.pk, kind=K.REFUNDED).values_list("gateway_id", flat=True))
    problems += [f"{label}: refund {refund.id} of {refund.amount_cents} ({refund.status}) is not in the ledger"
                 for refund in snapshot.refunds if refund.returned and refund.id not in recorded]
    if len(snapshot.transfers) > 1:
        problems.append(f"{label}: {len(snapshot.transfers)} transfers at the gateway for one order")
    return problems


def reconcile_gateway(*, since: datetime | None = None, order_ids=None,
                      gateway: PaymentGateway | None = None) -> Report:
    """Compare every order (created since `since`, or those of `order_ids`) with the gateway."""
    gateway = gateway or get_gateway()
    report = Report()
    orders = _order_model().objects.filter(Q(payment_id__gt="") | Q(ledger__isnull=False)).distinct()
    if since is not None:
        orders = orders.filter(created_at__gte=since)
    if order_ids is not None:
        orders = orders.filter(pk__in=order_ids)
    orders = list(orders.order_by("pk"))
    balances = ledger_balances([order.pk for order in orders])
    for order in orders:
        report.orders += 1
        balance = balances.get(order.pk, Balance())
        try:
            snapshot = gateway_snapshot(gateway, order)
        except GatewayError as error:
            report.problems.append(f"Order #{order.pk}: the gateway could not be asked ({error})")
            continue
        report.problems += ledger_against_gateway(order, snapshot, balance)
        for check in GATEWAY_CHECKS.values():
            check(order=order, snapshot=snapshot, balance=balance, report=report)
    return report

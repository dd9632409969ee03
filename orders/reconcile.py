"""The order's part of reconciliation (registered with payments in OrdersConfig.ready()).

By its state alone, an order tells what its money should be doing: authorized once the card
was, nothing captured until it is accepted, all of it held while the work goes on (nothing
refunded meanwhile), nothing held once refunded or released (a capture confirmed too late
is refunded in full). A completed order kept exactly what it owes the designer, after the
fee on what the client finally paid; where that money is now is the payouts check's part.

`orders_reconcile_gateway` compares the same orders with the PaymentIntent at the gateway.
"""

from __future__ import annotations

from datetime import datetime

from orders.models import Order
from payments.fees import platform_fee_cents
from payments.gateway import PaymentStatus
from payments.ledger import Balance
from payments.models import LedgerEntry
from payments.reconcile import GatewaySnapshot, Report

S = Order.Status
K = LedgerEntry.Kind

CAPTURED_STATES = {S.ACCEPTED, S.DELIVERED, S.DISPUTED, S.COMPLETED, S.REFUNDED}
IN_PROGRESS = {S.ACCEPTED, S.DELIVERED, S.DISPUTED}
# What the PaymentIntent's status must be for each order state.
GATEWAY_STATUS = {
    S.REQUESTED: {PaymentStatus.REQUIRES_CAPTURE},
    S.ACCEPTED: {PaymentStatus.SUCCEEDED},
    S.DELIVERED: {PaymentStatus.SUCCEEDED},
    S.DISPUTED: {PaymentStatus.SUCCEEDED},
    S.COMPLETED: {PaymentStatus.SUCCEEDED},
    S.REFUNDED: {PaymentStatus.SUCCEEDED},
    S.DECLINED: {PaymentStatus.CANCELED},
    S.EXPIRED: {PaymentStatus.CANCELED},
    S.WITHDRAWN: {PaymentStatus.CANCELED},
}
FIELDS = ("pk", "status", "total_cents", "fee_cents", "owed_cents", "authorized_at", "currency", "payment_id")


def _label(order: Order) -> str:
    return f"Order #{order.pk} ({order.status})"


def orders_reconcile(*, balances: dict[int, Balance], report: Report, now: datetime) -> None:
    for order in Order.objects.only(*FIELDS).order_by("pk").iterator(chunk_size=2000):
        report.orders += 1
        report.problems += order_money_problems(order, balances[order.pk])


def order_money_problems(order: Order, balance: Balance) -> list[str]:
    label, problems = _label(order), []
    if order.authorized_at is not None and balance[K.AUTHORIZED] != order.total_cents:
        problems.append(f"{label}: authorized {balance[K.AUTHORIZED]}, order total {order.total_cents}")
    if order.authorized_at is None and balance[K.AUTHORIZED]:
        problems.append(f"{label}: an authorization is recorded for an order never authorized")
    if order.status in CAPTURED_STATES:
        if balance[K.CAPTURED] != order.total_cents:
            problems.append(f"{label}: captured {balance[K.CAPTURED]}, order total {order.total_cents}")
    elif balance[K.CAPTURED] and balance.refunded != balance[K.CAPTURED]:
        problems.append(f"{label}: captured {balance[K.CAPTURED]} for an order that did not go on, refunded "
                        f"{balance.refunded}")
    if order.status in IN_PROGRESS and balance.refunded:
        problems.append(f"{label}: {balance.refunded} refunded while the order is still open")
    if order.status == S.COMPLETED:
        if order.owed_cents is None or balance.kept_by_platform != order.owed_cents:
            problems.append(
                f"{label}: captured {balance[K.CAPTURED]} - refunded {balance.refunded} - fee {balance[K.FEE]}"
                f" != owed to the designer {order.owed_cents}"
            )
        paid = order.total_cents - balance.refunded
        fee = platform_fee_cents(paid) if balance.refunded else order.fee_cents
        if balance[K.FEE] != fee:
            problems.append(f"{label}: fee {balance[K.FEE]}, the rules give {fee} on {paid}")
        return problems  # where the designer's share is now: payouts' check
    if balance[K.FEE]:
        problems.append(f"{label}: a fee of {balance[K.FEE]} on an order that did not complete")
    held = order.total_cents - balance.refunded if order.status in IN_PROGRESS else 0
    held -= balance.charged_back
    if balance.held != held:
        problems.append(
            f"{label}: captured {balance[K.CAPTURED]} != refunded {balance.refunded} + fee {balance[K.FEE]}"
            f" + transferred {balance[K.TRANSFERRED] - balance[K.REVERSED]} + held {held}"
        )
    return problems


def orders_reconcile_gateway(*, order, snapshot: GatewaySnapshot, balance: Balance, report: Report) -> None:
    """The PaymentIntent's status must match the order's state (a payment never set up, or
    still being set up, has none)."""
    payment = snapshot.payment
    if payment is None:
        return
    expected = GATEWAY_STATUS.get(order.status)
    if order.status in (S.DECLINED, S.EXPIRED, S.WITHDRAWN) and balance[K.CAPTURED]:
        expected = {PaymentStatus.SUCCEEDED}  # captured, then refunded in full
    if order.status == S.PENDING_PAYMENT:
        expected = {PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.REQUIRES_ACTION, PaymentStatus.PROCESSING,
                    PaymentStatus.REQUIRES_CAPTURE}
    if expected and payment.status not in expected:
        report.problems.append(f"{_label(order)}: the payment is {payment.status} at the gateway "
                               f"({payment.id}, {payment.amount_received_cents} received)")

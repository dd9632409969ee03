"""The payouts' part of reconciliation (registered with payments in PayoutsConfig.ready()).

For a completed order, the designer's share (what the order recorded as owed) is held by the
platform until its payout is transferred, and only what was reversed stays after that. Each
completed order gets its payout opened soon after completion, and transferred once it has
cleared unless something recorded holds it."""

from __future__ import annotations

from datetime import datetime, timedelta

from orders.models import Order
from payments.backends import get_gateway
from payments.gateway import GatewayError
from payments.ledger import Balance
from payments.models import LedgerEntry
from payments.reconcile import GatewaySnapshot, Report
from payouts.models import Payout

P = Payout.Status
K = LedgerEntry.Kind

# A payout still clearing this long after its due date, or an order completed this long
# without a payout, means the scheduled run is not running.
OVERDUE_AFTER = timedelta(hours=1)
# A transfer that keeps failing this long needs a person (the designer's account, our balance).
FAILING_FLAGGED_AFTER = timedelta(days=1)
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
            if owed and order.completed_at <= now - OVERDUE_AFTER:  # nothing owed: no payout to open
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
            if payout.status in LEFT_THE_PLATFORM and balance[K.REVERSED] != payout.reversed_cents:
                report.problems.append(f"{label}: reversed {balance[K.REVERSED]} in the ledger, "
                                       f"{payout.reversed_cents} on the payout")
            paid_out = balance[K.PAID_OUT] - balance[K.PAYOUT_FAILED]
            if payout.status in (P.PAID, P.REVERSED) and payout.bank_payout_id:
                # What reached the bank: all of it, or what was left after a reversal made before.
                fine = payout.amount_cents - payout.reversed_cents <= paid_out <= payout.amount_cents
            else:
                fine = paid_out == 0
            if not fine:
                report.problems.append(f"{label}: {paid_out} paid out to the bank by the ledger, the payout is "
                                       f"{payout.get_status_display().lower()}")
            if (payout.status == P.DUE and payout.last_error and payout.due_at <= now - FAILING_FLAGGED_AFTER
                    and payout.updated_at <= now - FAILING_FLAGGED_AFTER):
                report.problems.append(f"{label}: the transfer has failed since {payout.due_at:%Y-%m-%d}: "
                                       f"{payout.last_error}")
        held -= balance.charged_back
        if balance.held != held:
            report.problems.append(
                f"{label}: captured {balance[K.CAPTURED]} != refunded {balance.refunded} + fee {balance[K.FEE]}"
                f" + transferred {balance[K.TRANSFERRED] - balance[K.REVERSED]} + held {held}"
            )


def payouts_reconcile_gateway(*, order, snapshot: GatewaySnapshot, balance: Balance, report: Report) -> None:
    """A transferred payout's transfer is the one at the gateway; a paid or failed one's bank
    payout says the same at the gateway."""
    payout = Payout.objects.filter(order=order).select_related("freelancer__payout_account").first()
    if payout is None or not payout.transfer_id:
        return
    label = f"Order #{order.pk} ({order.status})"
    if payout.transfer_id not in {transfer.id for transfer in snapshot.transfers}:
        report.problems.append(f"{label}: transfer {payout.transfer_id} is not among the order's transfers at "
                               "the gateway")
    account = getattr(payout.freelancer, "payout_account", None)
    for transfer in snapshot.transfers:
        if account is not None and transfer.destination != account.gateway_account_id:
            report.problems.append(f"{label}: transfer {transfer.id} went to {transfer.destination}, not to the "
                                   f"designer's account {account.gateway_account_id}")
    if payout.bank_payout_id and account is not None and payout.status in (P.PAID, P.FAILED):
        try:
            bank = get_gateway().retrieve_bank_payout(account_id=account.gateway_account_id,
                                                      payout_id=payout.bank_payout_id)
        except GatewayError as error:
            report.problems.append(f"{label}: bank payout {payout.bank_payout_id} could not be fetched ({error})")
            return
        if bank.status != payout.status:
            report.problems.append(f"{label}: bank payout {bank.id} is {bank.status} at the gateway, "
                                   f"{payout.status} here")

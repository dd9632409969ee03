"""Reads about disputes and chargebacks."""

from disputes.models import Chargeback, Dispute
from orders.models import Order
from payments.models import LedgerEntry
from payouts.models import Payout

K = LedgerEntry.Kind


def disputes_opened_export(user) -> list[dict]:
    return [
        {"order_id": dispute.order_id, "reason": dispute.reason, "description": dispute.description,
         "status": dispute.status, "opened_at": dispute.opened_at, "resolution_note": dispute.resolution_note}
        for dispute in Dispute.objects.filter(opened_by=user).order_by("pk")
    ]


def chargeback_holds(order: Order) -> bool:
    """An unhandled chargeback keeps the order's payout with the platform (a payouts hold check)."""
    return Chargeback.objects.filter(order=order, handled_at__isnull=True).exists()


def chargebacks_reconcile(*, balances, report, now) -> None:
    """Registered with payments: what the ledger says a chargeback took or gave back must be
    the chargeback's own amount, and money is only reinstated after it was withdrawn."""
    chargebacks = {chargeback.gateway_id: chargeback for chargeback in Chargeback.objects.all()}
    left = set(Payout.objects.filter(status__in=["transferred", "paid", "failed", "reversed"])
               .values_list("order_id", flat=True))
    for chargeback in chargebacks.values():
        if chargeback.payout_frozen and chargeback.handled_at is None and chargeback.order_id in left:
            report.problems.append(f"Order #{chargeback.order_id}: chargeback {chargeback.gateway_id} says the payout "
                                   "is held, but it was transferred: take it back with \"Reverse the transfer\" if "
                                   "the chargeback is lost")
    rows = LedgerEntry.objects.filter(kind__in=[K.CHARGED_BACK, K.REINSTATED]).order_by("pk")
    withdrawn = set()
    for row in rows:
        dispute_id = row.gateway_id.rpartition(":")[0]
        chargeback = chargebacks.get(dispute_id)
        label = f"Order #{row.order_id}"
        if chargeback is None or chargeback.order_id != row.order_id:
            report.problems.append(f"{label}: {row.kind} {row.amount_cents} for no chargeback of the order "
                                   f"({row.gateway_id})")
            continue
        if row.amount_cents != chargeback.amount_cents:
            report.problems.append(f"{label}: {row.kind} {row.amount_cents}, chargeback {chargeback.gateway_id} "
                                   f"is {chargeback.amount_cents}")
        if row.kind == K.CHARGED_BACK:
            withdrawn.add(dispute_id)
        elif dispute_id not in withdrawn:
            report.problems.append(f"{label}: {row.amount_cents} reinstated for chargeback {dispute_id}, which "
                                   "never took any money")

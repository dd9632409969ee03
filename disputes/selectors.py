"""Reads about disputes and chargebacks."""

from disputes.models import Chargeback, Dispute
from orders.models import Order


def disputes_opened_export(user) -> list[dict]:
    return [
        {"order_id": dispute.order_id, "reason": dispute.reason, "description": dispute.description,
         "status": dispute.status, "opened_at": dispute.opened_at, "resolution_note": dispute.resolution_note}
        for dispute in Dispute.objects.filter(opened_by=user).order_by("pk")
    ]


def chargeback_holds(order: Order) -> bool:
    """An unhandled chargeback keeps the order's payout with the platform (a payouts hold check)."""
    return Chargeback.objects.filter(order=order, handled_at__isnull=True).exists()

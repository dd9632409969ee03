"""The Stripe events disputes own (chargebacks), registered with payments' webhook
registry. Each card dispute is fetched anew from the gateway, so repeated and
out-of-order events end in its current state."""

from cadcam.errors import ApplicationError
from disputes.services import chargeback_funds_moved, chargeback_record
from payments.backends import get_gateway
from payments.gateway import CardDispute, GatewayError
from payments.webhooks import webhook_handler


def _fetched_card_dispute(event: dict) -> CardDispute:
    try:
        return get_gateway().retrieve_card_dispute(event["data"]["object"]["id"])
    except GatewayError as error:  # raised as an ApplicationError so the event task retries later
        raise ApplicationError(f"{error.message} Nothing was changed; please try again.") from error


@webhook_handler("charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed")
def chargeback(event: dict) -> str:
    dispute = _fetched_card_dispute(event)
    recorded = chargeback_record(dispute=dispute)
    if recorded is None:
        return f"no order has charge {dispute.charge_id}"
    return f"order #{recorded.order_id}: chargeback {recorded.status}" + (
        ", payout held" if recorded.payout_frozen else "")


@webhook_handler("charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated")
def chargeback_funds(event: dict) -> str:
    withdrawn = event["type"] == "charge.dispute.funds_withdrawn"
    recorded = chargeback_funds_moved(dispute=_fetched_card_dispute(event), withdrawn=withdrawn)
    if recorded is None:
        return "no order has this charge"
    return f"order #{recorded.order_id}: funds {'withdrawn' if withdrawn else 'reinstated'}"

"""The Stripe events payouts own, registered with payments' webhook registry: connected
accounts changing (onboarding finished, payouts enabled), bank payouts paid or failed,
and transfers reversed."""

from payments.webhooks import CONNECT, webhook_handler
from payouts.services import payout_account_sync, payout_bank_update, payout_reversal_record
from payouts.tasks import transfer_payouts_of


@webhook_handler("account.updated", endpoint=CONNECT)
def account_updated(event: dict) -> str:
    account_id = event["data"]["object"]["id"]
    row = payout_account_sync(account_id=account_id, on_enabled=transfer_payouts_of.delay)
    return f"{account_id}: {row.get_state_display()}" if row else f"no user has {account_id}"


@webhook_handler("payout.paid", "payout.failed", endpoint=CONNECT)
def bank_payout(event: dict) -> str:
    account_id = event.get("account") or ""
    changed = payout_bank_update(account_id=account_id, bank_payout_id=event["data"]["object"]["id"])
    return f"{len(changed)} payout(s) updated"


@webhook_handler("transfer.reversed")
def transfer_reversed(event: dict) -> str:
    transfer_id = event["data"]["object"]["id"]
    payout = payout_reversal_record(transfer_id=transfer_id)
    return f"order #{payout.order_id}: {payout.reversed_cents} reversed" if payout else f"no payout has {transfer_id}"

from orders.services import order_accept, order_complete
from orders.tests.helpers import make_order
from payments.simulated import simulated_account_onboard
from payouts.services import payout_account_start, payout_account_sync, payout_open
from payouts.tasks import transfer_payouts_of


def make_completed_order(**kwargs):
    """An order accepted (payment captured) and completed by its employer, with its payout
    opened (as the scheduled run does within a minute): the payout clears."""
    order = make_order(**kwargs)
    order = order_accept(order=order, by=order.freelancer)
    order = order_complete(order=order, by=order.employer)
    payout_open(order=order)
    return order


def connect_payouts(user, *, country: str = "DE"):
    """The freelancer sets up payouts on the simulated gateway, as the onboarding page does."""
    account = payout_account_start(user=user, country=country)
    simulated_account_onboard(account_id=account.gateway_account_id, account_holder="Test Holder",
                              iban="DE89370400440532013000")
    return payout_account_sync(account_id=account.gateway_account_id, on_enabled=transfer_payouts_of.delay)

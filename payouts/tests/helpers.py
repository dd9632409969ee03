from orders.services import order_accept, order_complete
from orders.tests.helpers import make_order
from payouts.services import payout_account_start, payout_account_sync
from payouts.simulated import simulated_account_onboard


def make_completed_order(**kwargs):
    """An order accepted (payment captured) and completed by its employer: its payout clears."""
    order = make_order(**kwargs)
    order = order_accept(order=order, by=order.freelancer)
    return order_complete(order=order, by=order.employer)


def connect_payouts(user, *, country: str = "DE"):
    """The freelancer sets up payouts on the simulated gateway, as the onboarding page does."""
    account = payout_account_start(user=user, country=country)
    simulated_account_onboard(account_id=account.gateway_account_id, account_holder="Test Holder",
                              iban="DE89370400440532013000")
    return payout_account_sync(account_id=account.gateway_account_id)

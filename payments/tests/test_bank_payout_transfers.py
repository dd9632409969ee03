"""Which transfers a Stripe bank payout carried (issue 13): a payout that pays out money
returned by an earlier failed payout carries that payout's transfers."""

import pytest
import responses
from responses import matchers

from payments.stripe_gateway import StripeGateway
from payments.tests.helpers import API, stripe_list


def balance_transactions(rsps, payout_id: str, items: list[dict]) -> None:
    rsps.get(f"{API}/balance_transactions", json=stripe_list("/v1/balance_transactions", items),
             match=[matchers.query_param_matcher({"payout": payout_id}, strict_match=False)])


def payment_from(transfer_id: str) -> dict:
    """The payment a transfer of ours made on the connected account (expanded)."""
    return {"id": f"txn_{transfer_id}", "object": "balance_transaction", "type": "payment",
            "source": {"id": f"py_{transfer_id}", "object": "charge", "source_transfer": transfer_id}}


def failure_of(payout_id: str) -> dict:
    """The money of a failed bank payout coming back to the balance (expanded)."""
    return {"id": f"txn_back_{payout_id}", "object": "balance_transaction", "type": "payout_failure",
            "source": {"id": payout_id, "object": "payout", "status": "failed"}}


def test_a_bank_payout_carries_the_transfers_of_the_failed_payouts_it_pays_again(stripe_api):
    stripe_api.remove(responses.GET, f"{API}/balance_transactions")
    balance_transactions(stripe_api, "po_1", [payment_from("tr_1")])
    balance_transactions(stripe_api, "po_2", [failure_of("po_1"), payment_from("tr_2")])
    balance_transactions(stripe_api, "po_3", [failure_of("po_2"), payment_from("tr_3")])

    carried = StripeGateway().bank_payout_transfer_ids(account_id="acct_1", payout_id="po_3")

    assert carried == ("tr_1", "tr_2", "tr_3")
    listed = [call for call in stripe_api.calls if "/balance_transactions" in call.request.url]
    assert [call.request.params["payout"] for call in listed] == ["po_3", "po_2", "po_1"]
    assert {call.request.headers["Stripe-Account"] for call in listed} == {"acct_1"}


@pytest.mark.parametrize("payout_id", ["po_1", "po_2"])
def test_a_bank_payout_without_failures_carries_its_own_transfers_only(stripe_api, payout_id):
    stripe_api.remove(responses.GET, f"{API}/balance_transactions")
    balance_transactions(stripe_api, "po_1", [payment_from("tr_1")])
    balance_transactions(stripe_api, "po_2", [payment_from("tr_2"), payment_from("tr_3")])

    carried = StripeGateway().bank_payout_transfer_ids(account_id="acct_1", payout_id=payout_id)

    assert carried == {"po_1": ("tr_1",), "po_2": ("tr_2", "tr_3")}[payout_id]

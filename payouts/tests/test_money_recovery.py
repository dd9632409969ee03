"""Recoverable money operations seen from payouts (issue 13): a bank payout that fails after
it was paid, and reconciliation's blind spots around payouts."""

from datetime import timedelta

import pytest
import responses
import time_machine
from django.core import mail
from responses import matchers

from accounts.tests.helpers import make_user
from listings.tests.helpers import make_published
from orders.services import order_accept, order_complete, order_create, order_mark_authorized
from payments.gateway import GatewayError
from payments.ledger import ledger_record
from payments.models import LedgerEntry
from payments.reconcile import reconcile
from payments.simulated import SimulatedGateway
from payments.tests.helpers import API, deliver, event, stripe_list, stub_payment_intent
from payouts.models import Payout
from payouts.services import payout_account_start, payouts_run
from payouts.tests.helpers import connect_payouts, make_completed_order

pytestmark = pytest.mark.django_db
P = Payout.Status
K = LedgerEntry.Kind


def transferred_on_stripe(rsps):
    """An order paid through Stripe, completed, and its payout transferred as tr_1 to acct_1."""
    listing = make_published()
    stub_payment_intent(rsps, amount=listing.price_cents)
    order = order_mark_authorized(order=order_create(listing=listing, employer=make_user()))
    order = order_accept(order=order, by=order.freelancer)
    order = order_complete(order=order, by=order.employer)
    rsps.post(f"{API}/accounts", json={"id": "acct_1", "object": "account", "details_submitted": True,
                                       "payouts_enabled": True, "requirements": {}})
    payout_account_start(user=order.freelancer, country="DE")
    rsps.post(f"{API}/transfers", json={"id": "tr_1", "object": "transfer", "amount": order.net_cents,
                                        "currency": "usd", "destination": "acct_1", "amount_reversed": 0})
    with time_machine.travel(order.payout_due_at + timedelta(minutes=1)):
        payouts_run()
    assert Payout.objects.get(order=order).status == P.TRANSFERRED
    return order


def bank_payout(payout_id: str, status: str, **extra) -> dict:
    return {"id": payout_id, "object": "payout", "status": status, "amount": 1, "currency": "usd",
            "created": 1_900_000_000, **extra}


def balance_transactions(rsps, payout_id: str, items: list[dict]) -> None:
    rsps.get(f"{API}/balance_transactions", json=stripe_list("/v1/balance_transactions", items),
             match=[matchers.query_param_matcher({"payout": payout_id}, strict_match=False)])


# --- 6. a bank payout paid, then failed -----------------------------------------------------------------------


def test_a_bank_payout_returned_after_it_was_paid_is_failed_in_the_ledger_and_paid_again_later(stripe_api, client):
    order = transferred_on_stripe(stripe_api)
    stripe_api.get(f"{API}/payouts/po_1", json=bank_payout("po_1", "paid"))
    deliver(client, event("evt_paid", "payout.paid", bank_payout("po_1", "paid"), account="acct_1"))
    payout = Payout.objects.get(order=order)
    assert (payout.status, payout.bank_payout_id) == (P.PAID, "po_1")
    assert reconcile().problems == []

    # Days later the bank sends the money back: Stripe reports the same payout as failed.
    closed = "The bank account has been closed."
    stripe_api.upsert(responses.GET, f"{API}/payouts/po_1", json=bank_payout("po_1", "failed",
                                                                            failure_message=closed))
    mail.outbox.clear()
    deliver(client, event("evt_failed", "payout.failed", bank_payout("po_1", "failed"), account="acct_1"))
    deliver(client, event("evt_failed_again", "payout.failed", bank_payout("po_1", "failed"), account="acct_1"))

    payout.refresh_from_db()
    assert (payout.status, payout.paid_at, payout.failure_message) == (P.FAILED, None, closed)
    assert list(order.ledger.filter(kind__in=[K.PAID_OUT, K.PAYOUT_FAILED]).values_list(
        "kind", "amount_cents", "gateway_id")) == [(K.PAID_OUT, payout.amount_cents, "po_1"),
                                                   (K.PAYOUT_FAILED, payout.amount_cents, "po_1")]
    to_designer = [m for m in mail.outbox if m.to == [order.freelancer.email]]
    assert [m.subject for m in to_designer] == ["[CadCam Masters] Action needed: your bank refused a payout"]
    assert f"order #{order.pk}" in to_designer[0].body and closed in to_designer[0].body
    assert reconcile().problems == []

    # Stripe pays the returned money in a new payout: its balance carries the failed payout's.
    stripe_api.remove(responses.GET, f"{API}/balance_transactions")
    balance_transactions(stripe_api, "po_2", [
        {"id": "txn_back", "object": "balance_transaction", "type": "payout_failure",
         "source": {"id": "po_1", "object": "payout"}}])
    balance_transactions(stripe_api, "po_1", [
        {"id": "txn_1", "object": "balance_transaction", "type": "payment",
         "source": {"id": "py_1", "object": "charge", "source_transfer": "tr_1"}}])
    stripe_api.get(f"{API}/payouts/po_2", json=bank_payout("po_2", "paid"))
    deliver(client, event("evt_paid_2", "payout.paid", bank_payout("po_2", "paid"), account="acct_1"))

    payout.refresh_from_db()
    assert (payout.status, payout.bank_payout_id) == (P.PAID, "po_2")
    assert list(order.ledger.filter(kind=K.PAID_OUT).values_list("gateway_id", flat=True)) == ["po_1", "po_2"]
    assert reconcile().problems == []


# --- 7. reconcile's blind spots (payouts) -----------------------------------------------------------------------


def test_reconcile_reports_a_paid_out_row_on_a_payout_only_transferred():
    order = make_completed_order()
    connect_payouts(order.freelancer)
    with time_machine.travel(order.payout_due_at + timedelta(minutes=1)):
        payouts_run()
    payout = Payout.objects.get(order=order)
    assert payout.status == P.TRANSFERRED and reconcile().ok

    ledger_record(order=order, kind=K.PAID_OUT, amount_cents=payout.amount_cents, gateway_id="sim_po_999")

    assert reconcile().problems == [
        f"Order #{order.pk} (completed): {payout.amount_cents} paid out to the bank by the ledger, the payout is "
        "transferred"]


def test_reconcile_reports_a_transfer_that_keeps_failing_for_more_than_a_day(monkeypatch):
    order = make_completed_order()
    connect_payouts(order.freelancer)

    def refused(self, **kwargs):
        raise GatewayError("Your destination account needs to have at least one capability enabled.",
                           detail="InvalidRequestError: insufficient_capabilities_for_transfer")

    monkeypatch.setattr(SimulatedGateway, "create_transfer", refused)
    with time_machine.travel(order.payout_due_at + timedelta(minutes=1)):
        payouts_run()
    payout = Payout.objects.get(order=order)
    assert (payout.status, payout.last_error) == (P.DUE, "InvalidRequestError: insufficient_capabilities_for_transfer")

    assert reconcile(now=payout.updated_at + timedelta(hours=23)).ok  # the next runs may still send it
    report = reconcile(now=payout.updated_at + timedelta(days=1, minutes=1))

    assert report.problems == [
        f"Order #{order.pk} (completed): the transfer has failed since {payout.due_at:%Y-%m-%d}: "
        "InvalidRequestError: insufficient_capabilities_for_transfer"]

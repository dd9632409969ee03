"""Connect, transfers and bank payouts through the real stripe SDK, with Stripe's HTTP API
stubbed by `responses` (localstripe has no Connect). Checks what we send (parameters and
idempotency keys) and what we do with what comes back, webhooks included."""

import time
from datetime import timedelta

import pytest
import responses
import time_machine
from django.urls import reverse

from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError
from listings.tests.helpers import make_published
from orders.services import order_accept, order_complete, order_create, order_mark_authorized
from payments.models import LedgerEntry, StripeEvent
from payments.operations import RECOVER_AFTER, money_recover
from payments.reconcile import reconcile
from payments.tasks import process_stripe_event
from payments.tests.helpers import (
    API,
    CONNECT_SECRET,
    PLATFORM_SECRET,
    deliver,
    event,
    form,
    signed,
    stripe_list,
    stub_payment_intent,
)
from payments.webhooks import stripe_event_process
from payouts.models import Payout, PayoutAccount
from payouts.services import payout_account_onboarding_link, payout_account_start, payouts_run

pytestmark = pytest.mark.django_db
P = Payout.Status


def account_json(account_id="acct_1", *, submitted=False, enabled=False, due=(), pending=(), disabled_reason=None):
    return {
        "id": account_id, "object": "account", "details_submitted": submitted, "payouts_enabled": enabled,
        "requirements": {"currently_due": list(due), "past_due": [], "pending_verification": list(pending),
                         "disabled_reason": disabled_reason},
    }


def completed_order(rsps):
    listing = make_published()
    stub_payment_intent(rsps, amount=listing.price_cents)
    order = order_create(listing=listing, employer=make_user())
    order = order_mark_authorized(order=order)
    order = order_accept(order=order, by=order.freelancer)
    return order_complete(order=order, by=order.employer)


# --- onboarding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("country", "agreement"), [("DE", "recipient"), ("US", "full")])
def test_the_connected_account_is_platform_liable_with_transfers_only(stripe_api, country, agreement):
    user = make_user()
    stripe_api.post(f"{API}/accounts", json=account_json(due=["external_account"]))
    account = payout_account_start(user=user, country=country)

    call = stripe_api.calls[0]
    assert call.request.headers["Idempotency-Key"] == f"account:user-{user.pk}:{country}"
    sent = form(call)
    assert sent["country"] == country
    assert sent["email"] == user.email
    assert sent["capabilities[transfers][requested]"] == "true"
    assert "capabilities[card_payments][requested]" not in sent
    assert sent["controller[losses][payments]"] == "application"
    assert sent["controller[fees][payer]"] == "application"
    assert sent["controller[stripe_dashboard][type]"] == "express"
    assert sent["tos_acceptance[service_agreement]"] == agreement
    assert (account.gateway_account_id, account.state, account.requirements_due) == (
        "acct_1", PayoutAccount.State.DETAILS_NEEDED, ["external_account"])


def test_each_onboarding_link_is_fresh_with_its_own_key(stripe_api, client):
    user = make_user()
    stripe_api.post(f"{API}/accounts", json=account_json())
    stripe_api.post(f"{API}/account_links", json={"object": "account_link", "url": "https://connect.stripe.com/setup/e/1"})
    payout_account_start(user=user, country="DE")
    client.force_login(user)

    first = client.get(reverse("payouts:onboarding"))  # also the refresh URL of an expired link
    second = client.post(reverse("payouts:onboarding"))
    assert first.url == second.url == "https://connect.stripe.com/setup/e/1"
    links = [call for call in stripe_api.calls if call.request.url.endswith("/account_links")]
    assert [call.request.headers["Idempotency-Key"] for call in links] == [
        f"account-link:user-{user.pk}:1", f"account-link:user-{user.pk}:2"]
    sent = form(links[0])
    assert sent["account"] == "acct_1"
    assert sent["type"] == "account_onboarding"
    assert sent["refresh_url"] == "http://testserver" + reverse("payouts:onboarding")
    assert sent["return_url"] == "http://testserver" + reverse("payouts:onboarding_return")


def test_a_failing_link_call_is_a_message_not_an_error_page(stripe_api, client):
    user = make_user()
    stripe_api.post(f"{API}/accounts", json=account_json())
    stripe_api.post(f"{API}/account_links", status=500, json={"error": {"message": "down", "type": "api_error"}})
    payout_account_start(user=user, country="DE")
    client.force_login(user)
    answer = client.get(reverse("payouts:onboarding"), follow=True)
    assert "The payment service is not available right now." in answer.text
    assert PayoutAccount.objects.get().links_created == 0  # the next try uses the same key


def test_account_updated_events_move_the_state_and_are_fetched_anew(stripe_api, client):
    user = make_user()
    stripe_api.post(f"{API}/accounts", json=account_json(due=["external_account"]))
    payout_account_start(user=user, country="DE")
    states = []
    for n, current in enumerate([
        account_json(submitted=False, due=["external_account", "individual.verification.document"]),
        account_json(submitted=True, pending=["individual.verification.document"]),
        account_json(submitted=True, enabled=True),
    ]):
        stripe_api.upsert(responses.GET, f"{API}/accounts/acct_1", json=current)
        # The payload is deliberately stale: the handler trusts the account it fetches.
        answer = deliver(client, event(f"evt_{n}", "account.updated", account_json(), account="acct_1"))
        assert answer.status_code == 200
        states.append(PayoutAccount.objects.get().state)
    assert states == ["details_needed", "pending_verification", "enabled"]

    # an old event arriving late changes nothing: the account is fetched and still enabled
    deliver(client, event("evt_old", "account.updated", account_json(due=["external_account"]), account="acct_1"))
    assert PayoutAccount.objects.get().state == "enabled"
    assert StripeEvent.objects.get(event_id="evt_old").outcome == "acct_1: Payouts enabled"


def test_requirements_are_shown_in_words(stripe_api, client):
    user = make_user()
    stripe_api.post(f"{API}/accounts", json=account_json(due=["external_account", "individual.dob.day"]))
    payout_account_start(user=user, country="DE")
    client.force_login(user)
    page = client.get(reverse("payouts:index"))
    assert "Bank account for payouts" in page.text
    assert "Date of birth" in page.text


# --- transfers ----------------------------------------------------------------------------------------


def test_a_cleared_payout_waits_for_payouts_enabled_then_transfers_with_exact_parameters(stripe_api, client):
    order = completed_order(stripe_api)
    stripe_api.post(f"{API}/accounts", json=account_json(due=["external_account"]))
    payout_account_start(user=order.freelancer, country="DE")
    stripe_api.post(f"{API}/transfers", json={"id": "tr_1", "object": "transfer", "amount": order.net_cents,
                                              "currency": "usd", "destination": "acct_1", "amount_reversed": 0})
    with time_machine.travel(order.payout_due_at + timedelta(minutes=1)):
        payouts_run()
        assert Payout.objects.get().status == P.WAITING_FOR_ACCOUNT
        assert not [c for c in stripe_api.calls if c.request.url.endswith("/transfers")]

        stripe_api.get(f"{API}/accounts/acct_1", json=account_json(submitted=True, enabled=True))
        deliver(client, event("evt_enabled", "account.updated", account_json(), account="acct_1"))

    transfers = [c for c in stripe_api.calls if c.request.url.endswith("/transfers")]
    assert len(transfers) == 1
    assert transfers[0].request.headers["Idempotency-Key"] == f"transfer:order-{order.pk}:1"
    assert form(transfers[0]) == {
        "amount": str(order.net_cents), "currency": "usd", "destination": "acct_1",
        "transfer_group": f"order-{order.pk}", "source_transaction": "ch_1",
        "metadata[operation]": f"transfer:order-{order.pk}:1",
    }
    payout = Payout.objects.get()
    assert (payout.status, payout.transfer_id) == (P.TRANSFERRED, "tr_1")
    assert reconcile().ok


def test_a_transfer_without_an_answer_is_looked_up_before_another_is_made(stripe_api):
    order = completed_order(stripe_api)
    stripe_api.post(f"{API}/accounts", json=account_json(submitted=True, enabled=True))
    payout_account_start(user=order.freelancer, country="DE")
    stripe_api.post(f"{API}/transfers", status=500, json={"error": {"type": "api_error", "message": "boom"}})
    due = order.payout_due_at + timedelta(minutes=1)
    with time_machine.travel(due):
        payouts_run()
        payouts_run()  # the first attempt's outcome is unknown: no second transfer meanwhile
        assert Payout.objects.get().status == P.DUE
    with time_machine.travel(due + RECOVER_AFTER + timedelta(minutes=1)):
        # Stripe lists no transfer carrying the first attempt's key: it was not made.
        assert money_recover() == {"succeeded": 0, "failed": 1, "waiting": 0, "errors": 0}
        stripe_api.upsert(responses.POST, f"{API}/transfers",
                          json={"id": "tr_1", "object": "transfer", "amount": order.net_cents, "currency": "usd",
                                "destination": "acct_1", "amount_reversed": 0})
        payouts_run()
        payouts_run()
    transfers = [c for c in stripe_api.calls if c.request.url.endswith("/transfers")]
    assert [c.response.status_code for c in transfers] == [500, 200]
    assert [c.request.headers["Idempotency-Key"] for c in transfers] == [
        f"transfer:order-{order.pk}:1", f"transfer:order-{order.pk}:2"]
    assert LedgerEntry.objects.filter(order=order, kind=LedgerEntry.Kind.TRANSFERRED).count() == 1
    assert Payout.objects.get().status == P.TRANSFERRED
    assert reconcile().ok


# --- bank payouts and reversals ------------------------------------------------------------------------


@pytest.fixture
def transferred(stripe_api):
    order = completed_order(stripe_api)
    stripe_api.post(f"{API}/accounts", json=account_json(submitted=True, enabled=True))
    payout_account_start(user=order.freelancer, country="DE")
    stripe_api.post(f"{API}/transfers", json={"id": "tr_1", "object": "transfer", "amount": order.net_cents,
                                              "currency": "usd", "destination": "acct_1", "amount_reversed": 0})
    with time_machine.travel(order.payout_due_at + timedelta(minutes=1)):
        payouts_run()
    return order


def bank_payout(status: str, **extra) -> dict:
    return {"id": "po_1", "object": "payout", "status": status, "amount": 1, "currency": "usd",
            "created": int(time.time()) + 30 * 86400, **extra}


def test_payout_paid_twice_and_a_late_failed_event_leave_one_paid_record(stripe_api, client, transferred):
    stripe_api.get(f"{API}/payouts/po_1", json=bank_payout("paid"))
    for event_id in ("evt_paid", "evt_paid", "evt_paid_again"):
        deliver(client, event(event_id, "payout.paid", bank_payout("paid"), account="acct_1"))
    # payout.failed delivered after it (out of order): the payout is fetched and is paid
    deliver(client, event("evt_failed", "payout.failed", bank_payout("failed"), account="acct_1"))

    payout = Payout.objects.get()
    assert (payout.status, payout.bank_payout_id) == (P.PAID, "po_1")
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAID_OUT).count() == 1
    assert StripeEvent.objects.filter(event_id="evt_paid").count() == 1
    fetched = [c for c in stripe_api.calls if "/payouts/po_1" in c.request.url]
    assert {c.request.headers["Stripe-Account"] for c in fetched} == {"acct_1"}
    assert reconcile().ok


def test_a_failed_bank_payout_is_recorded_and_paid_by_the_next_payout(stripe_api, client, transferred):
    stripe_api.get(f"{API}/payouts/po_1", json=bank_payout("failed", failure_message="The account was closed."))
    deliver(client, event("evt_failed", "payout.failed", bank_payout("failed"), account="acct_1"))
    payout = Payout.objects.get()
    assert (payout.status, payout.failure_message) == (P.FAILED, "The account was closed.")

    # The designer fixes their bank details; Stripe pays the returned money in a new payout.
    stripe_api.get(f"{API}/payouts/po_2", json={**bank_payout("paid"), "id": "po_2"})
    deliver(client, event("evt_paid", "payout.paid", {**bank_payout("paid"), "id": "po_2"}, account="acct_1"))
    payout.refresh_from_db()
    assert (payout.status, payout.bank_payout_id) == (P.PAID, "po_2")
    listed = [c for c in stripe_api.calls if "/balance_transactions" in c.request.url]
    assert "payout=po_2" in listed[-1].request.url and listed[-1].request.headers["Stripe-Account"] == "acct_1"


def test_a_bank_payout_settles_only_the_transfers_it_carried(stripe_api, client, transferred):
    stripe_api.upsert(responses.GET, f"{API}/balance_transactions", json=stripe_list("/v1/balance_transactions", [
        {"id": "txn_9", "object": "balance_transaction", "type": "payment",
         "source": {"id": "py_9", "object": "charge", "source_transfer": "tr_other"}},
    ]))
    stripe_api.get(f"{API}/payouts/po_1", json=bank_payout("paid"))
    deliver(client, event("evt_paid", "payout.paid", bank_payout("paid"), account="acct_1"))
    assert Payout.objects.get().status == P.TRANSFERRED
    assert StripeEvent.objects.get(event_id="evt_paid").outcome == "0 payout(s) updated"


def test_a_transfer_already_made_is_taken_over_not_made_again(stripe_api):
    order = completed_order(stripe_api)
    stripe_api.post(f"{API}/accounts", json=account_json(submitted=True, enabled=True))
    payout_account_start(user=order.freelancer, country="DE")
    made = {"id": "tr_7", "object": "transfer", "amount": order.net_cents, "currency": "usd",
            "destination": "acct_1", "amount_reversed": 0}
    stripe_api.upsert(responses.GET, f"{API}/transfers", json=stripe_list("/v1/transfers", [made]))
    with time_machine.travel(order.payout_due_at + timedelta(minutes=1)):
        payouts_run()
    assert not [c for c in stripe_api.calls if c.request.method == "POST" and c.request.url.endswith("/transfers")]
    listed = [c for c in stripe_api.calls if c.request.method == "GET" and "/transfers?" in c.request.url]
    assert f"transfer_group=order-{order.pk}" in listed[0].request.url
    assert Payout.objects.get().transfer_id == "tr_7"
    assert reconcile().ok


def test_a_redelivered_event_that_was_never_processed_is_queued_again(stripe_api, client, monkeypatch):
    queued = []
    monkeypatch.setattr(process_stripe_event, "delay", queued.append)
    payload = event("evt_1", "customer.created", {"id": "cus_1"})
    deliver(client, payload)
    deliver(client, payload)  # Stripe retries: we never processed it, so it goes to the queue again
    stored = StripeEvent.objects.get()
    assert queued == [stored.pk, stored.pk]
    monkeypatch.undo()
    deliver(client, payload)
    deliver(client, payload)  # processed now: not queued again
    stored.refresh_from_db()
    assert stored.processed_at is not None and StripeEvent.objects.count() == 1


def test_each_endpoint_handles_only_its_own_event_types(stripe_api, client, transferred):
    stripe_api.get(f"{API}/payouts/po_1", json=bank_payout("paid"))
    deliver(client, event("evt_wrong", "payout.paid", bank_payout("paid"), account="acct_1"), connect=False)
    assert StripeEvent.objects.get(event_id="evt_wrong").outcome == "ignored: unknown type"
    assert Payout.objects.get().status == P.TRANSFERRED


def test_transfer_reversed_is_recorded_once_and_reconciles(stripe_api, client, transferred):
    order = transferred
    reversed_transfer = {"id": "tr_1", "object": "transfer", "amount": order.net_cents, "currency": "usd",
                         "destination": "acct_1", "amount_reversed": order.net_cents}
    stripe_api.get(f"{API}/transfers/tr_1", json=reversed_transfer)
    deliver(client, event("evt_rev_1", "transfer.reversed", reversed_transfer), connect=False)
    deliver(client, event("evt_rev_2", "transfer.reversed", reversed_transfer), connect=False)
    payout = Payout.objects.get()
    assert (payout.status, payout.reversed_cents) == (P.REVERSED, order.net_cents)
    assert [e.amount_cents for e in order.ledger.filter(kind=LedgerEntry.Kind.REVERSED)] == [order.net_cents]
    assert reconcile().ok  # the money is back with the platform, and counted as held


# --- the endpoints ----------------------------------------------------------------------------------------


def test_unknown_event_types_are_stored_and_ignored(stripe_api, client):
    answer = deliver(client, event("evt_x", "customer.created", {"id": "cus_1"}))
    assert answer.status_code == 200
    stored = StripeEvent.objects.get(event_id="evt_x")
    assert (stored.endpoint, stored.outcome) == ("connect", "ignored: unknown type")
    assert stored.processed_at is not None


def test_each_endpoint_checks_its_own_secret(stripe_api, client):
    payload = event("evt_1", "account.updated", account_json(), account="acct_1")
    assert deliver(client, payload, connect=True, secret=PLATFORM_SECRET).status_code == 400
    assert deliver(client, payload, connect=False, secret=CONNECT_SECRET).status_code == 400
    body, _ = signed(payload, CONNECT_SECRET)
    answer = client.post(reverse("stripe_connect_webhook"), body, content_type="application/json",
                         HTTP_STRIPE_SIGNATURE="t=1,v1=00")
    assert answer.status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(("offset", "status"), [(-301, 400), (-290, 200), (290, 200), (301, 400), (3600, 400)])
def test_events_signed_more_than_five_minutes_away_from_now_are_refused(stripe_api, client, offset, status):
    """A correctly signed event whose timestamp is an hour ahead (a replay prepared in advance, or
    a wrong clock) is refused like a stale one."""
    payload = event("evt_1", "customer.created", {"id": "cus_1"})
    body, header = signed(payload, CONNECT_SECRET, timestamp=int(time.time()) + offset)

    answer = client.post(reverse("stripe_connect_webhook"), body, content_type="application/json",
                         HTTP_STRIPE_SIGNATURE=header)

    assert answer.status_code == status
    assert StripeEvent.objects.exists() == (status == 200)


def test_the_webhook_answers_before_processing_and_a_gateway_failure_leaves_the_event_to_retry(
        stripe_api, client, monkeypatch):
    user = make_user()
    stripe_api.post(f"{API}/accounts", json=account_json())
    payout_account_start(user=user, country="DE")
    stripe_api.get(f"{API}/accounts/acct_1", status=500, json={"error": {"type": "api_error", "message": "down"}})
    queued = []
    monkeypatch.setattr(process_stripe_event, "delay", queued.append)  # the view only queues the work
    answer = deliver(client, event("evt_1", "account.updated", account_json(), account="acct_1"))
    assert answer.status_code == 200
    stored = StripeEvent.objects.get()
    assert queued == [stored.pk]
    assert stored.processed_at is None
    assert not [c for c in stripe_api.calls if c.request.method == "GET"]

    with pytest.raises(Exception, match="not available"):
        stripe_event_process(event_pk=stored.pk)
    stored.refresh_from_db()
    assert stored.processed_at is None  # rolled back: the retried task processes it
    stripe_api.upsert(responses.GET, f"{API}/accounts/acct_1", json=account_json(submitted=True, enabled=True))
    assert stripe_event_process(event_pk=stored.pk) == "acct_1: Payouts enabled"


def test_a_stale_onboarding_link_call_for_a_user_without_account_is_refused():
    with pytest.raises(ApplicationError, match="Choose your bank's country first"):
        payout_account_onboarding_link(user=make_user(), refresh_url="x", return_url="y")


def test_a_rejected_account_says_so_and_points_to_support(stripe_api, client):
    user = make_user()
    stripe_api.post(f"{API}/accounts", json=account_json(submitted=True, disabled_reason="rejected.fraud"))
    payout_account_start(user=user, country="DE")
    client.force_login(user)
    page = client.get(reverse("payouts:index"))
    assert PayoutAccount.objects.get().state == "rejected"
    assert 'data-testid="payout-rejected"' in page.text and "rejected.fraud" in page.text

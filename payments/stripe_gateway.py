"""The Stripe backend of the payment gateway (see payments/gateway.py), through StripeClient.

Separate charges and transfers: a PaymentIntent with manual capture is created when the
client reaches the payment step; the card is confirmed in the browser by Stripe's Payment
Element (card numbers never reach us); we capture on acceptance and cancel on decline,
expiry or withdrawal. Every call carries its attempt's idempotency key, and refunds,
transfers and reversals carry it as metadata too (`operation`), so an attempt whose answer
was lost can be found afterwards (payments/operations.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

import stripe
from django.conf import settings

from payments.gateway import (
    BankPayout,
    CardDispute,
    ConnectedAccount,
    GatewayError,
    Payment,
    PaymentStatus,
    Refund,
    Transfer,
    TransferReversal,
)

UNAVAILABLE = "The payment service is not available right now."
# Stripe's own hosts for Stripe.js and the Payment Element (Stripe's security guide).
STRIPE_JS_ORIGINS = ["https://js.stripe.com", "https://*.js.stripe.com"]
STRIPE_API_ORIGIN = "https://api.stripe.com"
STRIPE_FRAME_ORIGINS = [*STRIPE_JS_ORIGINS, "https://hooks.stripe.com"]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def browser_csp_sources() -> dict[str, list[str]]:
    """What the payment page's Content-Security-Policy must allow for Stripe.js, built from the
    configured addresses: Stripe's documented hosts when STRIPE_JS_URL is Stripe's own (the
    browser then talks to api.stripe.com, whatever STRIPE_API_BASE the server uses), and the
    origins of STRIPE_JS_URL and STRIPE_API_BASE when Stripe.js comes from elsewhere (a
    stand-in in front of localstripe, in tests)."""
    js_origin = _origin(settings.STRIPE_JS_URL)
    if js_origin == "https://js.stripe.com":
        return {"script-src": list(STRIPE_JS_ORIGINS), "connect-src": [STRIPE_API_ORIGIN],
                "frame-src": list(STRIPE_FRAME_ORIGINS)}
    api_origin = _origin(settings.STRIPE_API_BASE) if settings.STRIPE_API_BASE else js_origin
    return {"script-src": [js_origin], "connect-src": [api_origin], "frame-src": [js_origin]}


def _id_of(value) -> str:
    """An expandable field: an id, an object, or nothing."""
    if not value:
        return ""
    return value if isinstance(value, str) else value.id


def _payment(intent) -> Payment:
    received = getattr(intent, "amount_received", None)
    if received is None:  # localstripe leaves it out
        received = intent.amount if intent.status == PaymentStatus.SUCCEEDED else 0
    return Payment(
        id=intent.id, status=intent.status, amount_cents=intent.amount, currency=intent.currency.upper(),
        charge_id=_id_of(getattr(intent, "latest_charge", None)), amount_received_cents=received,
        client_secret=getattr(intent, "client_secret", None) or "",
    )


def _key(obj) -> str:
    """The idempotency key we left on an object as metadata."""
    metadata = getattr(obj, "metadata", None) or {}
    return metadata.get("operation", "") if hasattr(metadata, "get") else ""


def _refund(refund) -> Refund:
    return Refund(id=refund.id, amount_cents=refund.amount, status=refund.status, key=_key(refund),
                  payment_id=_id_of(getattr(refund, "payment_intent", None)))


def _account(account) -> ConnectedAccount:
    requirements = getattr(account, "requirements", None) or {}
    due = [*(getattr(requirements, "past_due", None) or []), *(getattr(requirements, "currently_due", None) or [])]
    return ConnectedAccount(
        id=account.id,
        details_submitted=bool(getattr(account, "details_submitted", None)),
        payouts_enabled=bool(getattr(account, "payouts_enabled", None)),
        requirements_due=tuple(dict.fromkeys(due)),
        requirements_pending=tuple(getattr(requirements, "pending_verification", None) or ()),
        disabled_reason=getattr(requirements, "disabled_reason", None) or "",
    )


def _transfer(transfer) -> Transfer:
    return Transfer(
        id=transfer.id, amount_cents=transfer.amount, currency=transfer.currency.upper(),
        destination=_id_of(getattr(transfer, "destination", None)),
        amount_reversed_cents=getattr(transfer, "amount_reversed", None) or 0, key=_key(transfer),
    )


def _reversal(reversal) -> TransferReversal:
    return TransferReversal(id=reversal.id, transfer_id=_id_of(getattr(reversal, "transfer", None)),
                            amount_cents=reversal.amount, key=_key(reversal))


def _card_dispute(dispute) -> CardDispute:
    """A dispute's balance transactions say what it cost: the withdrawal (a negative amount,
    with the network's fee) and, for a won dispute, the reinstatement."""
    movements = [txn for txn in (getattr(dispute, "balance_transactions", None) or ()) if not isinstance(txn, str)]
    return CardDispute(
        id=dispute.id, charge_id=_id_of(getattr(dispute, "charge", None)),
        payment_id=_id_of(getattr(dispute, "payment_intent", None)), amount_cents=dispute.amount,
        reason=getattr(dispute, "reason", None) or "", status=dispute.status,
        fee_cents=sum(getattr(txn, "fee", 0) or 0 for txn in movements),
        withdrawn_cents=-sum(getattr(txn, "amount", 0) or 0 for txn in movements),
    )


# Errors after which Stripe did not do what was asked (it answered, and said no).
DEFINITE = (stripe.CardError, stripe.InvalidRequestError, stripe.AuthenticationError, stripe.PermissionError,
            stripe.IdempotencyError, stripe.RateLimitError)


class StripeGateway:
    name = "stripe"

    def __init__(self, client: stripe.StripeClient | None = None):
        base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else {}
        self.client = client or stripe.StripeClient(
            settings.STRIPE_SECRET_KEY, base_addresses=base, max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES
        )

    def _call(self, call):
        try:
            return call()
        except stripe.CardError as error:
            raise GatewayError(error.user_message or "The card was declined.", detail=str(error)) from error
        except stripe.StripeError as error:
            # No answer, a timeout or a server error: the request may have been carried out.
            raise GatewayError(UNAVAILABLE, detail=f"{type(error).__name__}: {error}",
                               definite=isinstance(error, DEFINITE)) from error

    def create_payment(self, *, amount_cents: int, currency: str, reference: str, idempotency_key: str) -> Payment:
        params = {
            "amount": amount_cents,
            "currency": currency.lower(),
            "capture_method": "manual",
            "payment_method_types": ["card"],
            "metadata": {"reference": reference},
        }
        intent = self._call(
            lambda: self.client.v1.payment_intents.create(params=params, options={"idempotency_key": idempotency_key})
        )
        return _payment(intent)

    def retrieve(self, payment_id: str) -> Payment:
        return _payment(self._call(lambda: self.client.v1.payment_intents.retrieve(payment_id)))

    def capture(self, *, payment_id: str, idempotency_key: str) -> Payment:
        options = {"idempotency_key": idempotency_key}
        return _payment(self._call(lambda: self.client.v1.payment_intents.capture(payment_id, options=options)))

    def cancel(self, *, payment_id: str, idempotency_key: str) -> Payment:
        options = {"idempotency_key": idempotency_key}
        return _payment(self._call(lambda: self.client.v1.payment_intents.cancel(payment_id, options=options)))

    def refund(self, *, payment_id: str, amount_cents: int, idempotency_key: str) -> Refund:
        params = {"payment_intent": payment_id, "amount": amount_cents, "metadata": {"operation": idempotency_key}}
        refund = self._call(
            lambda: self.client.v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})
        )
        return _refund(refund)

    def list_refunds(self, payment_id: str) -> list[Refund]:
        page = self._call(lambda: self.client.v1.refunds.list(params={"payment_intent": payment_id, "limit": 100}))
        return [_refund(refund) for refund in page.auto_paging_iter()]

    def retrieve_refund(self, refund_id: str) -> Refund:
        return _refund(self._call(lambda: self.client.v1.refunds.retrieve(refund_id)))

    def retrieve_card_dispute(self, dispute_id: str) -> CardDispute:
        return _card_dispute(self._call(lambda: self.client.v1.disputes.retrieve(dispute_id)))

    def list_card_disputes(self, payment_id: str) -> list[CardDispute]:
        page = self._call(lambda: self.client.v1.disputes.list(params={"payment_intent": payment_id, "limit": 100}))
        return [_card_dispute(dispute) for dispute in page.auto_paging_iter()]

    # --- Connect -----------------------------------------------------------------------------------------

    def create_account(self, *, country: str, email: str, service_agreement: str, reference: str,
                       idempotency_key: str) -> ConnectedAccount:
        """A platform-liable account with the Express dashboard that can only receive transfers.
        Cross-border accounts take the recipient service agreement."""
        params = {
            "country": country,
            "email": email,
            "controller": {
                "fees": {"payer": "application"},
                "losses": {"payments": "application"},
                "requirement_collection": "stripe",
                "stripe_dashboard": {"type": "express"},
            },
            "capabilities": {"transfers": {"requested": True}},
            "tos_acceptance": {"service_agreement": service_agreement},
            "metadata": {"reference": reference},
        }
        account = self._call(
            lambda: self.client.v1.accounts.create(params=params, options={"idempotency_key": idempotency_key})
        )
        return _account(account)

    def retrieve_account(self, account_id: str) -> ConnectedAccount:
        return _account(self._call(lambda: self.client.v1.accounts.retrieve(account_id)))

    def onboarding_link(self, *, account_id: str, refresh_url: str, return_url: str, idempotency_key: str) -> str:
        params = {
            "account": account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
            "collection_options": {"fields": "currently_due"},
        }
        link = self._call(
            lambda: self.client.v1.account_links.create(params=params, options={"idempotency_key": idempotency_key})
        )
        return link.url

    def dashboard_link(self, *, account_id: str, idempotency_key: str) -> str:
        link = self._call(
            lambda: self.client.v1.accounts.login_links.create(
                account_id, options={"idempotency_key": idempotency_key}
            )
        )
        return link.url

    def create_transfer(self, *, amount_cents: int, currency: str, destination: str, transfer_group: str,
                        source_transaction: str, idempotency_key: str) -> Transfer:
        params = {
            "amount": amount_cents,
            "currency": currency.lower(),
            "destination": destination,
            "transfer_group": transfer_group,
            "source_transaction": source_transaction,
            "metadata": {"operation": idempotency_key},
        }
        transfer = self._call(
            lambda: self.client.v1.transfers.create(params=params, options={"idempotency_key": idempotency_key})
        )
        return _transfer(transfer)

    def retrieve_transfer(self, transfer_id: str) -> Transfer:
        return _transfer(self._call(lambda: self.client.v1.transfers.retrieve(transfer_id)))

    def list_transfers(self, *, transfer_group: str) -> list[Transfer]:
        """The transfers made for a group (an order): one, unless something went wrong."""
        page = self._call(lambda: self.client.v1.transfers.list(params={"transfer_group": transfer_group,
                                                                         "limit": 100}))
        return [_transfer(transfer) for transfer in page.auto_paging_iter()]

    def reverse_transfer(self, *, transfer_id: str, amount_cents: int, idempotency_key: str) -> TransferReversal:
        params = {"amount": amount_cents, "metadata": {"operation": idempotency_key}}
        reversal = self._call(lambda: self.client.v1.transfers.reversals.create(
            transfer_id, params=params, options={"idempotency_key": idempotency_key}))
        return _reversal(reversal)

    def list_reversals(self, transfer_id: str) -> list[TransferReversal]:
        page = self._call(lambda: self.client.v1.transfers.reversals.list(transfer_id, params={"limit": 100}))
        return [_reversal(reversal) for reversal in page.auto_paging_iter()]

    def bank_payout_transfer_ids(self, *, account_id: str, payout_id: str, _depth: int = 0) -> tuple[str, ...]:
        """The transfers a bank payout carried. Its balance transactions on the connected account
        are the payments our transfers made there (their `source_transfer`) and, when an earlier
        bank payout failed and its money came back, a `payout_failure` transaction whose source
        is that failed payout: what it carried, this one carries now."""
        params = {"payout": payout_id, "limit": 100, "expand": ["data.source"]}
        page = self._call(lambda: self.client.v1.balance_transactions.list(
            params=params, options={"stripe_account": account_id}))
        ids: list[str] = []
        for item in page.auto_paging_iter():
            source = getattr(item, "source", None)
            kind = getattr(item, "type", None)
            if kind == "payout_failure" and source and _depth < 5:
                ids += self.bank_payout_transfer_ids(account_id=account_id, payout_id=_id_of(source),
                                                     _depth=_depth + 1)
            elif kind == "payment" and source and not isinstance(source, str):
                transfer = _id_of(getattr(source, "source_transfer", None))
                if transfer:
                    ids.append(transfer)
        return tuple(dict.fromkeys(ids))

    def retrieve_bank_payout(self, *, account_id: str, payout_id: str) -> BankPayout:
        payout = self._call(
            lambda: self.client.v1.payouts.retrieve(payout_id, options={"stripe_account": account_id})
        )
        return BankPayout(
            id=payout.id, account_id=account_id, status=payout.status, amount_cents=payout.amount,
            currency=payout.currency.upper(), created=payout.created,
            failure_message=getattr(payout, "failure_message", None) or "",
        )

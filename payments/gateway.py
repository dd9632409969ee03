"""The payment gateway: one interface, two backends.

`stripe` (payments/stripe_gateway.py, when STRIPE_SECRET_KEY is set) talks to Stripe through
StripeClient; `simulated` (the default) keeps the same PaymentIntent states in our
database, so that development, the demo and most tests run the whole escrow flow without
leaving the machine.

Every call that moves money takes a deterministic idempotency key
(`capture:order-7`, `cancel:order-7`, ...): repeating a call with the same key returns
the first result and moves nothing twice. The rest of the code never imports a provider
SDK; it gets plain `Payment` values and `GatewayError`s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class PaymentStatus:
    REQUIRES_PAYMENT = "requires_payment_method"  # created; the customer has not paid yet
    REQUIRES_CAPTURE = "requires_capture"  # card authorized, money reserved, nothing charged
    SUCCEEDED = "succeeded"  # captured: the platform holds the money
    CANCELED = "canceled"  # authorization released, nothing charged


@dataclass(frozen=True)
class Payment:
    id: str
    status: str
    amount_cents: int
    currency: str
    charge_id: str = ""  # the charge behind a captured payment: a transfer's source_transaction


@dataclass(frozen=True)
class ConnectedAccount:
    """A freelancer's Stripe Connect account, as far as paying them out is concerned."""

    id: str
    details_submitted: bool
    payouts_enabled: bool
    requirements_due: tuple[str, ...] = ()  # what Stripe still needs (currently or past due)
    requirements_pending: tuple[str, ...] = ()  # what Stripe is verifying
    disabled_reason: str = ""


@dataclass(frozen=True)
class Transfer:
    id: str
    amount_cents: int
    currency: str
    destination: str
    amount_reversed_cents: int = 0


@dataclass(frozen=True)
class BankPayout:
    """A payout from a connected account to the freelancer's bank."""

    id: str
    account_id: str
    status: str  # pending, in_transit, paid, failed, canceled
    amount_cents: int
    currency: str
    created: int  # unix time
    failure_message: str = ""


@dataclass(frozen=True)
class Refund:
    id: str
    amount_cents: int
    status: str


@dataclass(frozen=True)
class CardDispute:
    """A chargeback: the card holder disputed the charge with their bank."""

    id: str
    charge_id: str
    payment_id: str
    amount_cents: int
    reason: str
    status: str  # warning_needs_response, needs_response, under_review, won, lost, ...


class GatewayError(Exception):
    """The gateway refused or failed. `message` is safe to show the customer;
    `detail` is for operators (logs, admin)."""

    def __init__(self, message: str, *, detail: str = ""):
        super().__init__(detail or message)
        self.message = message
        self.detail = detail


class PaymentGateway(Protocol):
    def create_payment(self, *, amount_cents: int, currency: str, reference: str, idempotency_key: str) -> Payment: ...

    def retrieve(self, payment_id: str) -> Payment: ...

    def capture(self, *, payment_id: str, idempotency_key: str) -> Payment: ...

    def cancel(self, *, payment_id: str, idempotency_key: str) -> Payment: ...

    def refund(self, *, payment_id: str, amount_cents: int, idempotency_key: str) -> Refund: ...

    def list_refunds(self, payment_id: str) -> list[Refund]: ...

    def retrieve_card_dispute(self, dispute_id: str) -> CardDispute: ...

    # Connect: the freelancer's account, onboarding, transfers and bank payouts.
    def create_account(self, *, country: str, email: str, service_agreement: str, reference: str,
                       idempotency_key: str) -> ConnectedAccount: ...

    def retrieve_account(self, account_id: str) -> ConnectedAccount: ...

    def onboarding_link(self, *, account_id: str, refresh_url: str, return_url: str, idempotency_key: str) -> str: ...

    def dashboard_link(self, *, account_id: str, idempotency_key: str) -> str: ...

    def create_transfer(self, *, amount_cents: int, currency: str, destination: str, transfer_group: str,
                        source_transaction: str, idempotency_key: str) -> Transfer: ...

    def retrieve_transfer(self, transfer_id: str) -> Transfer: ...

    def find_transfer(self, *, transfer_group: str) -> Transfer | None: ...

    def bank_payout_transfer_ids(self, *, account_id: str, payout_id: str) -> tuple[str, ...]: ...

    def retrieve_bank_payout(self, *, account_id: str, payout_id: str) -> BankPayout: ...

"""The payment gateway: one interface, two backends.

`stripe` (payments/stripe_gateway.py, when STRIPE_SECRET_KEY is set) talks to Stripe through
StripeClient; `simulated` (payments/simulated.py, the default) keeps the same objects and
states in our database, so that development, the demo and most tests run the whole escrow
flow without leaving the machine. `payments.backends.get_gateway()` picks one.

Every call that moves money takes a deterministic idempotency key, one per attempt
(`capture:order-7:1`; payments/operations.py makes them), and leaves that key on what it
made (as metadata where Stripe allows it), so the recovery job can find out afterwards
whether a call whose answer was lost went through. The rest of the code never imports a
provider SDK; it gets plain values and `GatewayError`s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cadcam.errors import ApplicationError

# Stripe's limit for one card payment in USD: $999,999.99.
MAX_PAYMENT_CENTS = 99_999_999


class PaymentStatus:
    REQUIRES_PAYMENT = "requires_payment_method"  # created; the customer has not paid yet
    REQUIRES_ACTION = "requires_action"  # the bank asks the customer to confirm (3-D Secure)
    PROCESSING = "processing"  # confirmed; the bank has not answered yet
    REQUIRES_CAPTURE = "requires_capture"  # card authorized, money reserved, nothing charged
    SUCCEEDED = "succeeded"  # captured: the platform holds the money
    CANCELED = "canceled"  # authorization released, nothing charged


class RefundStatus:
    SUCCEEDED = "succeeded"
    PENDING = "pending"  # on its way back to the card: counts as refunded unless it fails
    REQUIRES_ACTION = "requires_action"
    FAILED = "failed"  # the money stayed with the platform
    CANCELED = "canceled"

    # What counts as money returned to the card (a pending refund may still fail).
    RETURNED = frozenset({SUCCEEDED, PENDING})


@dataclass(frozen=True)
class Payment:
    id: str
    status: str
    amount_cents: int
    currency: str
    charge_id: str = ""  # the charge behind a captured payment: a transfer's source_transaction
    amount_received_cents: int = 0  # what was captured
    client_secret: str = ""  # for the card form in the client's browser (Stripe's Payment Element)

    @property
    def authorized(self) -> bool:
        return self.status == PaymentStatus.REQUIRES_CAPTURE


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
    key: str = ""  # the idempotency key it was made with (our metadata), "" if made elsewhere


@dataclass(frozen=True)
class TransferReversal:
    id: str
    transfer_id: str
    amount_cents: int
    key: str = ""


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
    status: str  # RefundStatus
    key: str = ""  # the idempotency key it was made with (our metadata), "" if made elsewhere
    payment_id: str = ""

    @property
    def returned(self) -> bool:
        return self.status in RefundStatus.RETURNED


@dataclass(frozen=True)
class CardDispute:
    """A chargeback: the card holder disputed the charge with their bank."""

    id: str
    charge_id: str
    payment_id: str
    amount_cents: int
    reason: str
    status: str  # warning_needs_response, needs_response, under_review, won, lost, ...
    fee_cents: int = 0  # what the card network charged the platform for it, net of fees returned
    withdrawn_cents: int = 0  # taken from the platform's balance, less what was reinstated


class GatewayError(ApplicationError):
    """The gateway refused or failed. `message` is safe to show the customer; `detail` is
    for operators (logs, admin).

    `definite` tells the two kinds apart: True when the gateway answered that it did not do
    it (a declined card, a refused request): nothing moved. False when we cannot know (no
    answer, a timeout, a server error): the call may have gone through, and only asking the
    gateway later tells (payments/operations.py)."""

    def __init__(self, message: str, *, detail: str = "", definite: bool = True):
        super().__init__(message)
        self.detail = detail
        self.definite = definite

    def __str__(self) -> str:
        return self.detail or self.message


class PaymentGateway(Protocol):
    name: str

    # Card payments (PaymentIntents with manual capture).
    def create_payment(self, *, amount_cents: int, currency: str, reference: str, idempotency_key: str) -> Payment: ...

    def retrieve(self, payment_id: str) -> Payment: ...

    def capture(self, *, payment_id: str, idempotency_key: str) -> Payment: ...

    def cancel(self, *, payment_id: str, idempotency_key: str) -> Payment: ...

    def refund(self, *, payment_id: str, amount_cents: int, idempotency_key: str) -> Refund: ...

    def list_refunds(self, payment_id: str) -> list[Refund]: ...

    def retrieve_refund(self, refund_id: str) -> Refund: ...

    def retrieve_card_dispute(self, dispute_id: str) -> CardDispute: ...

    def list_card_disputes(self, payment_id: str) -> list[CardDispute]: ...

    # Connect: the freelancer's account, onboarding, transfers and bank payouts.
    def create_account(self, *, country: str, email: str, service_agreement: str, reference: str,
                       idempotency_key: str) -> ConnectedAccount: ...

    def retrieve_account(self, account_id: str) -> ConnectedAccount: ...

    def onboarding_link(self, *, account_id: str, refresh_url: str, return_url: str, idempotency_key: str) -> str: ...

    def dashboard_link(self, *, account_id: str, idempotency_key: str) -> str: ...

    def create_transfer(self, *, amount_cents: int, currency: str, destination: str, transfer_group: str,
                        source_transaction: str, idempotency_key: str) -> Transfer: ...

    def retrieve_transfer(self, transfer_id: str) -> Transfer: ...

    def list_transfers(self, *, transfer_group: str) -> list[Transfer]: ...

    def reverse_transfer(self, *, transfer_id: str, amount_cents: int, idempotency_key: str) -> TransferReversal: ...

    def list_reversals(self, transfer_id: str) -> list[TransferReversal]: ...

    def bank_payout_transfer_ids(self, *, account_id: str, payout_id: str) -> tuple[str, ...]: ...

    def retrieve_bank_payout(self, *, account_id: str, payout_id: str) -> BankPayout: ...

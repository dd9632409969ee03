"""The simulated payment gateway (see payouts/gateway.py): the same objects and states as
Stripe's, kept in our database. Connect onboarding is a local form (payouts/views.py); a
transfer reaches the freelancer's "bank" SIMULATED_BANK_PAYOUT_DELAY after it was made,
when the payouts beat task runs `simulated_bank_payouts_arrive`."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from payments.gateway import (
    BankPayout,
    CardDispute,
    ConnectedAccount,
    GatewayError,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    Transfer,
    TransferReversal,
)
from payments.models import (
    SimulatedAccount,
    SimulatedOperation,
    SimulatedPayment,
    SimulatedReversal,
    SimulatedTransfer,
)

PREFIX = "sim_pi_"
ACCOUNT_PREFIX = "sim_acct_"
TRANSFER_PREFIX = "sim_tr_"
BANK_PAYOUT_PREFIX = "sim_po_"
CHARGE_PREFIX = "sim_ch_"
REFUND_PREFIX = "sim_re_"
# Stripe pays a connected account's balance to its bank about two days after a transfer.
SIMULATED_BANK_PAYOUT_DELAY = timedelta(days=2)
NOT_FOUND = "The payment service could not find that."


def _as_payment(row: SimulatedPayment) -> Payment:
    captured = row.status == PaymentStatus.SUCCEEDED
    return Payment(id=row.gateway_id, status=row.status, amount_cents=row.amount_cents, currency=row.currency,
                   charge_id=row.charge_id if captured else "",
                   amount_received_cents=row.amount_cents if captured else 0)


def _as_refund(operation: SimulatedOperation) -> Refund:
    return Refund(id=f"{REFUND_PREFIX}{operation.pk}", amount_cents=int(operation.operation.split(":")[1]),
                  status=operation.status_after, key=operation.idempotency_key,
                  payment_id=PREFIX + str(operation.payment_id))


def _pk(gateway_id: str, prefix: str) -> int:
    if not gateway_id.startswith(prefix) or not gateway_id[len(prefix):].isdigit():
        raise GatewayError(NOT_FOUND, detail=f"unknown simulated object {gateway_id!r}")
    return int(gateway_id[len(prefix):])


def _as_account(row: SimulatedAccount) -> ConnectedAccount:
    return ConnectedAccount(
        id=row.gateway_id, details_submitted=row.details_submitted, payouts_enabled=row.payouts_enabled,
        requirements_due=() if row.details_submitted else ("external_account", "individual.verification.document"),
    )


def _as_transfer(row: SimulatedTransfer) -> Transfer:
    return Transfer(id=row.gateway_id, amount_cents=row.amount_cents, currency=row.currency,
                    destination=row.account.gateway_id, amount_reversed_cents=row.amount_reversed_cents,
                    key=row.idempotency_key)


def _as_reversal(row: SimulatedReversal) -> TransferReversal:
    return TransferReversal(id=f"sim_trr_{row.pk}", transfer_id=TRANSFER_PREFIX + str(row.transfer_id),
                            amount_cents=row.amount_cents, key=row.idempotency_key)


def _as_bank_payout(row: SimulatedTransfer) -> BankPayout:
    return BankPayout(
        id=row.bank_payout_id, account_id=row.account.gateway_id, status="paid" if row.paid_out_at else "in_transit",
        amount_cents=row.amount_cents - row.amount_reversed_cents, currency=row.currency,
        # Made when it arrives; a bank payout settles the transfers made before it.
        created=math.ceil((row.paid_out_at or row.created_at).timestamp()),
    )


def _lock(payment_id: str) -> SimulatedPayment:
    if not payment_id.startswith(PREFIX) or not payment_id[len(PREFIX):].isdigit():
        raise GatewayError("The payment could not be found.", detail=f"unknown simulated payment {payment_id!r}")
    try:
        return SimulatedPayment.objects.select_for_update().get(pk=int(payment_id[len(PREFIX):]))
    except SimulatedPayment.DoesNotExist:
        raise GatewayError("The payment could not be found.", detail=f"no simulated payment {payment_id}") from None


class SimulatedGateway:
    name = "simulated"

    @transaction.atomic
    def create_payment(self, *, amount_cents: int, currency: str, reference: str, idempotency_key: str) -> Payment:
        done = SimulatedOperation.objects.filter(idempotency_key=idempotency_key).select_related("payment").first()
        if done:
            return _as_payment(done.payment)
        row = SimulatedPayment.objects.create(
            status=PaymentStatus.REQUIRES_PAYMENT, amount_cents=amount_cents, currency=currency, reference=reference
        )
        SimulatedOperation.objects.create(
            idempotency_key=idempotency_key, payment=row, operation="create", status_after=row.status
        )
        return _as_payment(row)

    def retrieve(self, payment_id: str) -> Payment:
        with transaction.atomic():
            return _as_payment(_lock(payment_id))

    def _move(self, *, payment_id: str, idempotency_key: str, operation: str, allowed: set[str], to: str) -> Payment:
        with transaction.atomic():
            row = _lock(payment_id)
            done = SimulatedOperation.objects.filter(idempotency_key=idempotency_key).first()
            if done:
                if done.payment_id != row.pk or done.operation != operation:
                    raise GatewayError("The payment could not be processed.", detail="idempotency key reused")
                return _as_payment(row)  # a replay: what the first call left
            if row.status not in allowed:
                raise GatewayError(
                    "The payment could not be processed.",
                    detail=f"cannot {operation} a payment in state {row.status}",
                )
            row.status = to
            row.save(update_fields=["status", "updated_at"])
            SimulatedOperation.objects.create(
                idempotency_key=idempotency_key, payment=row, operation=operation, status_after=to
            )
            return _as_payment(row)

    def capture(self, *, payment_id: str, idempotency_key: str) -> Payment:
        return self._move(
            payment_id=payment_id, idempotency_key=idempotency_key, operation="capture",
            allowed={PaymentStatus.REQUIRES_CAPTURE}, to=PaymentStatus.SUCCEEDED,
        )

    def cancel(self, *, payment_id: str, idempotency_key: str) -> Payment:
        return self._move(
            payment_id=payment_id, idempotency_key=idempotency_key, operation="cancel",
            allowed={PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.REQUIRES_CAPTURE}, to=PaymentStatus.CANCELED,
        )

    @transaction.atomic
    def cancel_many(self, calls: list[tuple[str, str]]) -> dict[str, Payment | GatewayError]:
        """`cancel` for many payments at once, in a few statements: (payment id, idempotency key)
        pairs in, each key's answer out (the Payment, or the GatewayError `cancel` would raise).
        The deadline sweep releases its expired orders' authorizations with it
        (payments/batches.py); Stripe has no such call, so there they are released one by one."""
        answers: dict[str, Payment | GatewayError] = {}
        wanted: dict[str, int] = {}
        for payment_id, key in calls:
            if payment_id.startswith(PREFIX) and payment_id[len(PREFIX):].isdigit():
                wanted[key] = int(payment_id[len(PREFIX):])
            else:
                answers[key] = GatewayError("The payment could not be found.",
                                            detail=f"unknown simulated payment {payment_id!r}")
        rows = {row.pk: row for row in SimulatedPayment.objects.select_for_update()
                .filter(pk__in=wanted.values()).order_by("pk")}
        done = {op.idempotency_key: op for op in SimulatedOperation.objects.filter(idempotency_key__in=wanted)}
        allowed = {PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.REQUIRES_CAPTURE}
        moved, made = [], []
        for key, pk in wanted.items():
            row = rows.get(pk)
            if row is None:
                answers[key] = GatewayError("The payment could not be found.", detail=f"no simulated payment {pk}")
            elif key in done:
                replay = done[key].payment_id == row.pk and done[key].operation == "cancel"
                answers[key] = _as_payment(row) if replay else GatewayError(
                    "The payment could not be processed.", detail="idempotency key reused")
            elif row.status not in allowed:
                answers[key] = GatewayError("The payment could not be processed.",
                                            detail=f"cannot cancel a payment in state {row.status}")
            else:
                row.status = PaymentStatus.CANCELED
                moved.append(row.pk)
                made.append(SimulatedOperation(idempotency_key=key, payment=row, operation="cancel",
                                               status_after=row.status))
                answers[key] = _as_payment(row)
        SimulatedPayment.objects.filter(pk__in=moved).update(status=PaymentStatus.CANCELED, updated_at=timezone.now())
        SimulatedOperation.objects.bulk_create(made)
        return answers

    def customer_pays(self, *, payment_id: str, approve: bool) -> Payment:
        """What the simulated payment page does: the customer's card is authorized, or it is
        declined and the payment waits for another try (as a Stripe PaymentIntent does)."""
        with transaction.atomic():
            row = _lock(payment_id)
            if row.status != PaymentStatus.REQUIRES_PAYMENT:
                raise GatewayError("This payment was already made or cancelled.", detail=f"state {row.status}")
            if not approve:
                raise GatewayError("Your card was declined. Try another card.", detail="simulated decline")
            row.status = PaymentStatus.REQUIRES_CAPTURE
            row.save(update_fields=["status", "updated_at"])
            return _as_payment(row)

    @transaction.atomic
    def refund(self, *, payment_id: str, amount_cents: int, idempotency_key: str) -> Refund:
        row = _lock(payment_id)
        done = SimulatedOperation.objects.filter(idempotency_key=idempotency_key).first()
        if done is not None and done.operation != f"refund:{amount_cents}":
            # As Stripe does: a key used again with other parameters is an error, not a replay.
            raise GatewayError("The payment could not be refunded.",
                               detail="idempotency key reused with another amount")
        if done is None:
            if row.status != PaymentStatus.SUCCEEDED:
                raise GatewayError("The payment could not be refunded.", detail=f"refund of a {row.status} payment")
            if not 0 < amount_cents <= row.amount_cents - row.refunded_cents:
                raise GatewayError("The refund is larger than what is left of the payment.",
                                   detail=f"refund {amount_cents} of {row.amount_cents - row.refunded_cents}")
            row.refunded_cents += amount_cents
            row.save(update_fields=["refunded_cents", "updated_at"])
            done = SimulatedOperation.objects.create(
                idempotency_key=idempotency_key, payment=row, operation=f"refund:{amount_cents}",
                status_after=RefundStatus.SUCCEEDED,
            )
        return _as_refund(done)

    def list_refunds(self, payment_id: str) -> list[Refund]:
        operations = SimulatedOperation.objects.filter(payment_id=_pk(payment_id, PREFIX),
                                                       operation__startswith="refund:").order_by("pk")
        return [_as_refund(operation) for operation in operations]

    def retrieve_refund(self, refund_id: str) -> Refund:
        operation = SimulatedOperation.objects.filter(pk=_pk(refund_id, REFUND_PREFIX),
                                                      operation__startswith="refund:").first()
        if operation is None:
            raise GatewayError(NOT_FOUND, detail=f"no simulated refund {refund_id}")
        return _as_refund(operation)

    def retrieve_card_dispute(self, dispute_id: str) -> CardDispute:
        raise GatewayError(NOT_FOUND, detail="the simulated gateway has no card disputes")

    def list_card_disputes(self, payment_id: str) -> list[CardDispute]:
        return []  # cards cannot be disputed in test mode

    # --- Connect -----------------------------------------------------------------------------------------

    @transaction.atomic
    def create_account(self, *, country: str, email: str, service_agreement: str, reference: str,
                       idempotency_key: str) -> ConnectedAccount:
        row, _ = SimulatedAccount.objects.get_or_create(
            idempotency_key=idempotency_key, defaults={"country": country, "email": email, "reference": reference}
        )
        return _as_account(row)

    def retrieve_account(self, account_id: str) -> ConnectedAccount:
        row = SimulatedAccount.objects.filter(pk=_pk(account_id, ACCOUNT_PREFIX)).first()
        if row is None:
            raise GatewayError(NOT_FOUND, detail=f"no simulated account {account_id}")
        return _as_account(row)

    def onboarding_link(self, *, account_id: str, refresh_url: str, return_url: str, idempotency_key: str) -> str:
        self.retrieve_account(account_id)
        return reverse("payouts:simulated_onboarding", args=[account_id])

    def dashboard_link(self, *, account_id: str, idempotency_key: str) -> str:
        self.retrieve_account(account_id)
        return reverse("payouts:simulated_dashboard", args=[account_id])

    @transaction.atomic
    def create_transfer(self, *, amount_cents: int, currency: str, destination: str, transfer_group: str,
                        source_transaction: str, idempotency_key: str) -> Transfer:
        done = SimulatedTransfer.objects.filter(idempotency_key=idempotency_key).select_related("account").first()
        if done:
            return _as_transfer(done)
        account = SimulatedAccount.objects.filter(pk=_pk(destination, ACCOUNT_PREFIX)).first()
        if account is None or not account.payouts_enabled:
            raise GatewayError("The designer's account cannot receive transfers yet.",
                               detail=f"{destination} missing or payouts not enabled")
        source = _lock(PREFIX + str(_pk(source_transaction, CHARGE_PREFIX)))
        spent = sum(t.amount_cents for t in SimulatedTransfer.objects.filter(source_transaction=source_transaction))
        available = source.amount_cents - source.refunded_cents - spent
        if source.status != PaymentStatus.SUCCEEDED or amount_cents > available:
            raise GatewayError("The transfer is larger than the charge it comes from.",
                               detail=f"transfer {amount_cents} from {source_transaction}")
        row = SimulatedTransfer.objects.create(
            account=account, amount_cents=amount_cents, currency=currency, transfer_group=transfer_group,
            source_transaction=source_transaction, idempotency_key=idempotency_key,
        )
        return _as_transfer(row)

    def retrieve_transfer(self, transfer_id: str) -> Transfer:
        row = SimulatedTransfer.objects.select_related("account").filter(pk=_pk(transfer_id, TRANSFER_PREFIX)).first()
        if row is None:
            raise GatewayError(NOT_FOUND, detail=f"no simulated transfer {transfer_id}")
        return _as_transfer(row)

    def list_transfers(self, *, transfer_group: str) -> list[Transfer]:
        rows = SimulatedTransfer.objects.select_related("account").filter(transfer_group=transfer_group)
        return [_as_transfer(row) for row in rows.order_by("pk")]

    @transaction.atomic
    def reverse_transfer(self, *, transfer_id: str, amount_cents: int, idempotency_key: str) -> TransferReversal:
        row = SimulatedTransfer.objects.select_for_update().filter(pk=_pk(transfer_id, TRANSFER_PREFIX)).first()
        if row is None:
            raise GatewayError(NOT_FOUND, detail=f"no simulated transfer {transfer_id}")
        done = SimulatedReversal.objects.filter(idempotency_key=idempotency_key).first()
        if done is not None:
            if done.transfer_id != row.pk or done.amount_cents != amount_cents:
                raise GatewayError("The transfer could not be reversed.", detail="idempotency key reused")
            return _as_reversal(done)
        if not 0 < amount_cents <= row.amount_cents - row.amount_reversed_cents:
            raise GatewayError("The reversal is larger than what is left of the transfer.",
                               detail=f"reverse {amount_cents} of {row.amount_cents - row.amount_reversed_cents}")
        row.amount_reversed_cents += amount_cents
        row.save(update_fields=["amount_reversed_cents"])
        return _as_reversal(SimulatedReversal.objects.create(transfer=row, amount_cents=amount_cents,
                                                             idempotency_key=idempotency_key))

    def list_reversals(self, transfer_id: str) -> list[TransferReversal]:
        rows = SimulatedReversal.objects.filter(transfer_id=_pk(transfer_id, TRANSFER_PREFIX)).order_by("pk")
        return [_as_reversal(row) for row in rows]

    def bank_payout_transfer_ids(self, *, account_id: str, payout_id: str) -> tuple[str, ...]:
        return (TRANSFER_PREFIX + str(_pk(payout_id, BANK_PAYOUT_PREFIX)),)  # one bank payout per transfer here

    def retrieve_bank_payout(self, *, account_id: str, payout_id: str) -> BankPayout:
        row = SimulatedTransfer.objects.select_related("account").filter(
            pk=_pk(payout_id, BANK_PAYOUT_PREFIX), account_id=_pk(account_id, ACCOUNT_PREFIX)
        ).first()
        if row is None:
            raise GatewayError(NOT_FOUND, detail=f"no simulated payout {payout_id} on {account_id}")
        return _as_bank_payout(row)


def simulated_account_onboard(*, account_id: str, account_holder: str, iban: str) -> ConnectedAccount:
    """What the freelancer does on the simulated onboarding page: bank details given, payouts enabled."""
    with transaction.atomic():
        row = SimulatedAccount.objects.select_for_update().get(pk=_pk(account_id, ACCOUNT_PREFIX))
        row.account_holder = account_holder
        row.iban_last4 = iban[-4:]
        row.details_submitted = row.payouts_enabled = True
        row.save(update_fields=["account_holder", "iban_last4", "details_submitted", "payouts_enabled"])
    return _as_account(row)


def simulated_bank_payouts_arrive(*, now: datetime | None = None) -> list[BankPayout]:
    """The bank payouts that arrive by `now`: each transfer reaches the bank after the delay.
    Returns them so the caller can update its records as Stripe's payout.paid would."""
    now = now or timezone.now()
    arrived = []
    with transaction.atomic():
        rows = SimulatedTransfer.objects.select_for_update(skip_locked=True).select_related("account").filter(
            paid_out_at__isnull=True, created_at__lte=now - SIMULATED_BANK_PAYOUT_DELAY
        )
        for row in rows:
            row.paid_out_at = now
            row.save(update_fields=["paid_out_at"])
            arrived.append(_as_bank_payout(row))
    return arrived

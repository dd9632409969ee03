"""The simulated payment gateway (see payouts/gateway.py)."""

from __future__ import annotations

from django.db import transaction

from payouts.gateway import GatewayError, Payment, PaymentStatus
from payouts.models import SimulatedOperation, SimulatedPayment

PREFIX = "sim_pi_"


def _as_payment(row: SimulatedPayment) -> Payment:
    return Payment(id=row.gateway_id, status=row.status, amount_cents=row.amount_cents, currency=row.currency)


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
                return Payment(id=row.gateway_id, status=done.status_after, amount_cents=row.amount_cents,
                               currency=row.currency)
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

"""Recoverable money operations: every gateway call that moves money, in three steps.

1. **start**, in the caller's transaction with the order row locked: refuse while another
   attempt on the order has an unknown outcome, and record this attempt (`MoneyOperation`,
   state `started`, its own idempotency key `<kind>:order-<id>:<attempt>`). The caller
   commits, so the attempt is on disk before any money moves.
2. **run**, outside any transaction: the gateway call.
3. **finish**, in one transaction (the order row, then the attempt's): record the outcome and
   hand it to the finisher registered for the attempt's purpose, which does the work it
   leads to (the order accepted, the refund recorded and the dispute decided, the payout
   transferred). Apps above payments register their finishers at start-up.

When the call gets no clear answer (no response, a timeout, a server error), the attempt
stays `started` and the person is told the step is being confirmed; nothing else may act on
the order meanwhile. `money_recover` (beat, every minute; `manage.py money_recover`) asks the
gateway about attempts started more than RECOVER_AFTER ago: what happened is finished as a
success, what did not happen as a failure, and what the gateway cannot tell yet waits for
the next run. Each kind leaves something to find: the PaymentIntent's state for captures and
cancels, our key in the metadata of refunds, transfers and reversals, and the key itself for
setting a payment up (a replay returns the first PaymentIntent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from cadcam.errors import ApplicationError
from payments.backends import get_gateway
from payments.gateway import GatewayError, PaymentGateway, PaymentStatus, RefundStatus
from payments.models import MoneyOperation

logger = logging.getLogger(__name__)

K = MoneyOperation.Kind
STARTED, SUCCEEDED, FAILED = MoneyOperation.State.STARTED, MoneyOperation.State.SUCCEEDED, MoneyOperation.State.FAILED

# Longer than any call can take with the SDK's own retries: an attempt younger than this may
# still be on its way, so the recovery job leaves it alone.
RECOVER_AFTER = timedelta(minutes=10)
RECOVER_BATCH = 200
RECHECK_AT_MOST_EVERY = timedelta(hours=1)
QUICK_CHECKS = 10


class PaymentStepPending(ApplicationError):
    """An attempt on this order has an outcome we do not know yet."""

    def __init__(self, message: str = ""):
        super().__init__(message or "A payment step for this order is being confirmed with the payment service. "
                                    "Nothing else can change until then; try again in a few minutes.")


@dataclass(frozen=True)
class Outcome:
    """What became of an attempt, as the gateway said (or as the recovery job found out)."""

    succeeded: bool
    gateway_id: str = ""
    result: dict = field(default_factory=dict)
    error: str = ""  # for staff
    message: str = ""  # for the person who acted, when it failed
    recovered: bool = False  # learned afterwards by money_recover, not from the call's answer

    @classmethod
    def failure(cls, message: str, *, error: str = "", recovered: bool = False) -> Outcome:
        return cls(succeeded=False, message=message, error=error or message, recovered=recovered)


# purpose -> finisher(operation=..., order=..., outcome=...), run in the finishing transaction
# with the order row locked. It must do the work the outcome leads to, or leave things as
# they were for a failure; raising rolls the outcome back and the recovery job tries again.
Finisher = Callable[..., None]
FINISHERS: dict[str, Finisher] = {}


def register_finisher(purpose: str, finisher: Finisher) -> None:
    FINISHERS[purpose] = finisher


def _order_model():
    """The order model, through the attempt's foreign key (payments does not import orders)."""
    return MoneyOperation._meta.get_field("order").related_model


def money_operations_settled(order) -> None:
    """Refuse (PaymentStepPending) while the order has an attempt whose outcome is unknown.
    Every service that changes an order calls this under the order's row lock."""
    if MoneyOperation.objects.filter(order_id=order.pk, state=STARTED).exists():
        raise PaymentStepPending()


def money_operation_start(*, order, kind: str, purpose: str, amount_cents: int, params: dict | None = None,
                          context: dict | None = None) -> MoneyOperation:
    """Record an attempt. Call it with the order row locked, inside the transaction the
    caller commits before `money_operation_run`."""
    if purpose not in FINISHERS:
        raise LookupError(f"No finisher is registered for {purpose!r}")
    money_operations_settled(order)
    last = MoneyOperation.objects.filter(order_id=order.pk, kind=kind).aggregate(last=Max("attempt"))["last"]
    attempt = (last or 0) + 1
    return MoneyOperation.objects.create(
        order_id=order.pk, kind=kind, purpose=purpose, attempt=attempt,
        idempotency_key=f"{kind}:order-{order.pk}:{attempt}", amount_cents=amount_cents, currency=order.currency,
        params=params or {}, context=context or {},
    )


def money_operation_run(operation: MoneyOperation, *, gateway: PaymentGateway | None = None) -> MoneyOperation:
    """Make the attempt's gateway call and finish it. Returns the finished attempt; raises
    ApplicationError with the gateway's message when it failed (nothing moved), and
    PaymentStepPending when the outcome is unknown, or known but not yet recorded (the
    recovery job finishes it)."""
    gateway = gateway or get_gateway()
    try:
        outcome = _call(gateway, operation)
    except GatewayError as error:
        if error.definite:
            outcome = _after_refusal(gateway, operation, error)
        else:
            logger.warning("%s: no clear answer from the gateway (%s)", operation.idempotency_key, error)
            outcome = _look_up(gateway, operation)
            if outcome is None or not outcome.succeeded:  # not there yet, or still on its way: wait
                raise PaymentStepPending() from error
    operation = _finish_or_wait(operation, outcome)
    if operation.state == FAILED:
        raise ApplicationError(f"{outcome.message} Nothing was changed; please try again.")
    return operation


def _finish_or_wait(operation: MoneyOperation, outcome: Outcome) -> MoneyOperation:
    """Finish; if recording the outcome fails (a bug, the database, the gateway asked again by
    a finisher), the attempt stays started with the reason for staff, and the person is told
    the step is being confirmed: the money may have moved, so it must not look refused."""
    try:
        return money_operation_finish(operation=operation, outcome=outcome)
    except Exception as error:
        _note_finishing_failed(operation, error)
        raise PaymentStepPending() from error


def _note_finishing_failed(operation: MoneyOperation, error: Exception) -> None:
    logger.exception("Finishing %s failed", operation.idempotency_key)
    MoneyOperation.objects.filter(pk=operation.pk, state=STARTED).update(
        error=f"Finishing failed ({type(error).__name__}): {error}"[:1000])


def money_operation_finish(*, operation: MoneyOperation, outcome: Outcome) -> MoneyOperation:
    """Record the outcome and do the work it leads to, in one transaction. Finishing an
    attempt twice (the caller and the recovery job both got there) changes nothing."""
    with transaction.atomic():
        order = _order_model().objects.select_for_update(of=("self",)).get(pk=operation.order_id)
        operation = MoneyOperation.objects.select_for_update().get(pk=operation.pk)
        if operation.state != STARTED:
            return operation
        operation.state = SUCCEEDED if outcome.succeeded else FAILED
        operation.gateway_id = outcome.gateway_id
        operation.result = outcome.result
        operation.error = outcome.error
        operation.finished_at = timezone.now()
        operation.save(update_fields=["state", "gateway_id", "result", "error", "finished_at"])
        FINISHERS[operation.purpose](operation=operation, order=order, outcome=outcome)
    return operation


def money_operation_found_late(*, operation: MoneyOperation, outcome: Outcome) -> MoneyOperation:
    """An attempt finished as failed (the recovery job found nothing) went through after all,
    the gateway having carried it out very late: it is finished again, as a success, and its
    finisher decides what that means now (the decision it was for, or an alert to staff when
    things moved on meanwhile)."""
    with transaction.atomic():
        _order_model().objects.select_for_update(of=("self",)).get(pk=operation.order_id)
        operation = MoneyOperation.objects.select_for_update().get(pk=operation.pk)
        if operation.state != FAILED:
            return operation
        operation.state, operation.finished_at = STARTED, None
        operation.error = f"Marked failed, then found at the gateway: {outcome.gateway_id}"
        operation.save(update_fields=["state", "finished_at", "error"])
    return money_operation_finish(operation=operation, outcome=outcome)


def _due_for_a_check(operation: MoneyOperation, now: datetime) -> bool:
    """Every run (a minute) for the first ten checks, then after 2, 4, 8 ... minutes, at most an
    hour apart: an attempt the gateway cannot tell about for long must not use up every run."""
    if operation.last_checked_at is None or operation.checks < QUICK_CHECKS:
        return True
    wait = min(RECHECK_AT_MOST_EVERY, timedelta(minutes=2 ** min(operation.checks - QUICK_CHECKS + 1, 6)))
    return operation.last_checked_at <= now - wait


def money_recover(*, now: datetime | None = None, older_than: timedelta = RECOVER_AFTER,
                  gateway: PaymentGateway | None = None) -> dict[str, int]:
    """Ask the gateway about the attempts whose outcome is still unknown and finish them. The
    least recently asked come first, so attempts that never finish cannot crowd out the rest,
    and one that breaks (a bug, a strange answer) is logged and noted, not fatal to the run."""
    now = now or timezone.now()
    gateway = gateway or get_gateway()
    counts = {"succeeded": 0, "failed": 0, "waiting": 0, "errors": 0}
    stale = (MoneyOperation.objects.filter(state=STARTED, started_at__lte=now - older_than)
             .order_by(F("last_checked_at").asc(nulls_first=True), "started_at"))
    for operation in stale[:RECOVER_BATCH]:
        if not _due_for_a_check(operation, now):
            counts["waiting"] += 1
            continue
        try:
            MoneyOperation.objects.filter(pk=operation.pk).update(checks=F("checks") + 1, last_checked_at=now)
            outcome = _look_up(gateway, operation, recovered=True)
            if outcome is None:
                counts["waiting"] += 1
                continue
            finished = money_operation_finish(operation=operation, outcome=outcome)
        except Exception as error:  # one broken attempt must not stop the others; it stays started and is flagged
            _note_finishing_failed(operation, error)
            counts["errors"] += 1
            continue
        counts["succeeded" if finished.state == SUCCEEDED else "failed"] += 1
    return counts


def money_operation_recover(*, operation: MoneyOperation, now: datetime | None = None) -> MoneyOperation:
    """Staff's "ask the payment service now" for one attempt (the recovery job's step)."""
    now = now or timezone.now()
    operation = MoneyOperation.objects.get(pk=operation.pk)
    if operation.state != STARTED:
        raise ApplicationError(f"Its outcome is known: {operation.get_state_display().lower()}.")
    if operation.started_at > now - RECOVER_AFTER:
        raise ApplicationError("It started less than ten minutes ago: its answer may still be on its way. "
                               "Try again later.")
    outcome = _look_up(get_gateway(), operation, recovered=True)
    if outcome is None:
        raise ApplicationError("The payment service cannot tell yet; the recovery job asks again every minute.")
    try:
        return money_operation_finish(operation=operation, outcome=outcome)
    except Exception as error:
        _note_finishing_failed(operation, error)
        raise ApplicationError(f"The payment service answered, but recording it failed: {error}. The error is "
                               "on the attempt; the recovery job tries again.") from error


# --- the calls, and how to find out afterwards whether one went through -------------------------------


def _call(gateway: PaymentGateway, operation: MoneyOperation) -> Outcome:
    params, key, amount = operation.params, operation.idempotency_key, operation.amount_cents
    if operation.kind == K.PAYMENT:
        payment = gateway.create_payment(amount_cents=amount, currency=operation.currency,
                                         reference=params["reference"], idempotency_key=key)
        return Outcome(succeeded=True, gateway_id=payment.id, result={"status": payment.status})
    if operation.kind == K.CAPTURE:
        return _captured(gateway.capture(payment_id=params["payment_id"], idempotency_key=key))
    if operation.kind == K.CANCEL:
        payment = gateway.cancel(payment_id=params["payment_id"], idempotency_key=key)
        return Outcome(succeeded=True, gateway_id=payment.id, result={"status": payment.status})
    if operation.kind == K.REFUND:
        refund = gateway.refund(payment_id=params["payment_id"], amount_cents=amount, idempotency_key=key)
        if refund.returned:
            return Outcome(succeeded=True, gateway_id=refund.id, result={"status": refund.status})
        if refund.status in (RefundStatus.FAILED, RefundStatus.CANCELED):
            return Outcome.failure("The refund was refused by the payment service.",
                                   error=f"refund {refund.id} is {refund.status}")
        raise GatewayError("The refund is waiting for the payment service.", definite=False,
                           detail=f"refund {refund.id} is {refund.status}")
    if operation.kind == K.TRANSFER:
        transfer = gateway.create_transfer(
            amount_cents=amount, currency=operation.currency, destination=params["destination"],
            transfer_group=params["transfer_group"], source_transaction=params["source_transaction"],
            idempotency_key=key,
        )
        return Outcome(succeeded=True, gateway_id=transfer.id, result={"amount_cents": transfer.amount_cents})
    if operation.kind == K.REVERSAL:
        reversal = gateway.reverse_transfer(transfer_id=params["transfer_id"], amount_cents=amount,
                                            idempotency_key=key)
        return Outcome(succeeded=True, gateway_id=reversal.id, result={"amount_cents": reversal.amount_cents})
    raise ValueError(f"Unknown money operation {operation.kind}")


def _captured(payment, *, recovered: bool = False) -> Outcome:
    return Outcome(succeeded=True, gateway_id=payment.charge_id or payment.id, recovered=recovered,
                   result={"payment_id": payment.id, "charge_id": payment.charge_id,
                           "amount_cents": payment.amount_received_cents or payment.amount_cents})


def _after_refusal(gateway: PaymentGateway, operation: MoneyOperation, error: GatewayError) -> Outcome:
    """The gateway said no. A capture or cancel refused because the payment is already in
    the state asked for (an earlier attempt went through after all; the authorization ran
    out at the bank) counts as done."""
    if operation.kind in (K.CAPTURE, K.CANCEL):
        found = _look_up(gateway, operation)
        if found is not None and found.succeeded:
            return found
    return Outcome.failure(error.message, error=str(error))


def _look_up(gateway: PaymentGateway, operation: MoneyOperation, *, recovered: bool = False) -> Outcome | None:
    """What the gateway shows of the attempt: an Outcome when it can tell (it happened, or it
    did not), None when it cannot (it does not answer either)."""
    params, key = operation.params, operation.idempotency_key
    not_made = Outcome.failure("The payment step did not go through.", recovered=recovered,
                               error="not found at the gateway")
    try:
        if operation.kind == K.PAYMENT:
            # Setting a payment up moves no money: replaying the key returns the first one.
            payment = gateway.create_payment(amount_cents=operation.amount_cents, currency=operation.currency,
                                             reference=params["reference"], idempotency_key=key)
            return Outcome(succeeded=True, gateway_id=payment.id, result={"status": payment.status},
                           recovered=recovered)
        if operation.kind in (K.CAPTURE, K.CANCEL):
            payment = gateway.retrieve(params["payment_id"])
            if operation.kind == K.CAPTURE and payment.status == PaymentStatus.SUCCEEDED:
                return _captured(payment, recovered=recovered)
            if operation.kind == K.CANCEL and payment.status == PaymentStatus.CANCELED:
                return Outcome(succeeded=True, gateway_id=payment.id, result={"status": payment.status},
                               recovered=recovered)
            if operation.kind == K.CANCEL and payment.status == PaymentStatus.SUCCEEDED:
                # Nothing is held any more because the money was captured (an acceptance whose
                # answer was lost): the release is done, and the finisher gives the money back.
                return Outcome(succeeded=True, gateway_id=payment.charge_id or payment.id, recovered=recovered,
                               result={"status": payment.status, "captured": True,
                                       "amount_cents": payment.amount_received_cents or payment.amount_cents})
            return not_made
        if operation.kind == K.REFUND:
            refund = next((r for r in gateway.list_refunds(params["payment_id"]) if r.key == key), None)
            if refund is None:
                return not_made
            if refund.returned:
                return Outcome(succeeded=True, gateway_id=refund.id, result={"status": refund.status},
                               recovered=recovered)
            if refund.status in (RefundStatus.FAILED, RefundStatus.CANCELED):
                return Outcome.failure("The refund was refused by the payment service.", recovered=recovered,
                                       error=f"refund {refund.id} is {refund.status}")
            return None  # waiting for the customer's bank
        if operation.kind == K.TRANSFER:
            transfers = gateway.list_transfers(transfer_group=params["transfer_group"])
            transfer = next((t for t in transfers if t.key == key), None)
            if transfer is None:
                return not_made
            return Outcome(succeeded=True, gateway_id=transfer.id, recovered=recovered,
                           result={"amount_cents": transfer.amount_cents})
        if operation.kind == K.REVERSAL:
            reversal = next((r for r in gateway.list_reversals(params["transfer_id"]) if r.key == key), None)
            if reversal is None:
                return not_made
            return Outcome(succeeded=True, gateway_id=reversal.id, recovered=recovered,
                           result={"amount_cents": reversal.amount_cents})
    except GatewayError as error:
        logger.warning("Could not look %s up: %s", key, error)
        return None
    raise ValueError(f"Unknown money operation {operation.kind}")

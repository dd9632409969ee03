"""Recoverable money operations in batches: the deadline sweep releases hundreds of
authorizations at once.

The same three steps as one operation (payments/operations.py), each done for the whole
batch in a few statements:

1. **start**: the caller holds the orders' row locks and records one attempt per order, with
   the same deterministic key `<kind>:order-<id>:<attempt>`, in one INSERT; it commits before
   any call, so the recovery job can finish whatever happens next.
2. **run**: one bulk call when the gateway has one (the simulated gateway's `cancel_many`),
   otherwise the calls one at a time (Stripe has no bulk cancel). A refused or unanswered call
   is treated exactly as `money_operation_run` treats it.
3. **finish**: one transaction locks the orders (in pk order), then the attempts, records every
   known outcome and hands them to the purpose's batch finisher (or its one-at-a-time
   finisher). An outcome that is unknown, or a batch whose finishing fails, leaves its attempts
   started: `money_recover` finishes them one by one, as it would a single call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from payments.backends import get_gateway
from payments.gateway import GatewayError, PaymentGateway
from payments.models import MoneyOperation
from payments.operations import (
    FINISHERS,
    STARTED,
    SUCCEEDED,
    Outcome,
    _after_refusal,
    _call,
    _look_up,
    _order_model,
)

logger = logging.getLogger(__name__)

K = MoneyOperation.Kind

# purpose -> finisher(items=[(operation, order, outcome), ...]) for a whole batch, run in the
# finishing transaction with the orders locked. Purposes without one are finished one by one
# with their FINISHERS entry.
BATCH_FINISHERS: dict[str, Callable[..., None]] = {}


def register_batch_finisher(purpose: str, finisher: Callable[..., None]) -> None:
    BATCH_FINISHERS[purpose] = finisher


def money_operations_unsettled(order_ids: Sequence[int]) -> set[int]:
    """The orders among these with an attempt whose outcome is unknown (one query): nothing
    may act on them until it is known (money_operations_settled, for many orders)."""
    return set(MoneyOperation.objects.filter(order_id__in=order_ids, state=STARTED)
               .values_list("order_id", flat=True))


def money_operations_start_many(*, orders: Sequence, kind: str, purpose: str, amount: Callable,
                                params: Callable, context: Callable) -> list[MoneyOperation]:
    """Record one attempt for each order. Call it with the orders' rows locked and none of them
    unsettled, inside the transaction the caller commits before `money_operations_run_many`.
    `amount`, `params` and `context` give each order's values."""
    if purpose not in FINISHERS:
        raise LookupError(f"No finisher is registered for {purpose!r}")
    if not orders:
        return []
    if money_operations_unsettled([order.pk for order in orders]):
        raise ValueError("An order of the batch has an attempt whose outcome is unknown.")
    last = dict(MoneyOperation.objects.filter(order_id__in=[order.pk for order in orders], kind=kind)
                .values("order_id").annotate(last=Max("attempt")).values_list("order_id", "last").order_by())
    operations = []
    for order in orders:
        attempt = last.get(order.pk, 0) + 1
        operations.append(MoneyOperation(
            order_id=order.pk, kind=kind, purpose=purpose, attempt=attempt,
            idempotency_key=f"{kind}:order-{order.pk}:{attempt}", amount_cents=amount(order),
            currency=order.currency, params=params(order), context=context(order),
        ))
    return MoneyOperation.objects.bulk_create(operations)


def money_operations_run_many(operations: Sequence[MoneyOperation], *,
                              gateway: PaymentGateway | None = None) -> list[MoneyOperation]:
    """Make the attempts' calls and finish those whose outcome is known. Returns the finished
    attempts; the others stay started for the recovery job."""
    gateway = gateway or get_gateway()
    answers = _call_many(gateway, operations)
    known = []
    for operation in operations:
        outcome = _outcome(gateway, operation, answers[operation.pk])
        if outcome is None:
            logger.warning("%s: no clear answer from the gateway", operation.idempotency_key)
        else:
            known.append((operation, outcome))
    try:
        return money_operations_finish_many(known)
    except Exception as error:  # the money may have moved: the attempts stay started, the recovery job finishes them
        logger.exception("Finishing a batch of %d attempts failed", len(known))
        MoneyOperation.objects.filter(pk__in=[operation.pk for operation, _ in known], state=STARTED).update(
            error=f"Finishing failed ({type(error).__name__}): {error}"[:1000])
        return []


def _call_many(gateway: PaymentGateway, operations: Sequence[MoneyOperation]) -> dict[int, Outcome | GatewayError]:
    """Each attempt's answer: an Outcome, or the GatewayError the call raised."""
    cancel_many = getattr(gateway, "cancel_many", None)
    if cancel_many is not None and operations and all(op.kind == K.CANCEL for op in operations):
        try:
            payments = cancel_many([(op.params["payment_id"], op.idempotency_key) for op in operations])
        except GatewayError as error:  # the whole call: each attempt is treated as this answer
            return {op.pk: error for op in operations}
        return {op.pk: payments[op.idempotency_key] if isinstance(payments[op.idempotency_key], GatewayError)
                else Outcome(succeeded=True, gateway_id=payments[op.idempotency_key].id,
                             result={"status": payments[op.idempotency_key].status})
                for op in operations}
    answers: dict[int, Outcome | GatewayError] = {}
    for operation in operations:
        try:
            answers[operation.pk] = _call(gateway, operation)
        except GatewayError as error:
            answers[operation.pk] = error
    return answers


def _outcome(gateway: PaymentGateway, operation: MoneyOperation, answer: Outcome | GatewayError) -> Outcome | None:
    """What money_operation_run makes of an answer: a refusal is checked against the gateway
    (already in the state asked for counts as done), no answer is looked up, and what cannot
    be told yet is None."""
    if isinstance(answer, Outcome):
        return answer
    if answer.definite:
        return _after_refusal(gateway, operation, answer)
    found = _look_up(gateway, operation)
    return found if found is not None and found.succeeded else None


def money_operations_finish_many(known: Sequence[tuple[MoneyOperation, Outcome]]) -> list[MoneyOperation]:
    """Record the outcomes and do the work they lead to, in one transaction: the orders are
    locked in pk order, then the attempts. An attempt finished meanwhile (by the recovery job)
    is left as it is."""
    if not known:
        return []
    with transaction.atomic():
        order_ids = sorted({operation.order_id for operation, _ in known})
        orders = {order.pk: order for order in _order_model().objects.select_for_update(of=("self",))
                  .filter(pk__in=order_ids).order_by("pk")}
        locked = {op.pk: op for op in MoneyOperation.objects.select_for_update()
                  .filter(pk__in=[operation.pk for operation, _ in known], state=STARTED).order_by("pk")}
        now = timezone.now()
        items = []
        for operation, outcome in known:
            operation = locked.get(operation.pk)
            if operation is None:
                continue
            operation.state = SUCCEEDED if outcome.succeeded else MoneyOperation.State.FAILED
            operation.gateway_id, operation.result, operation.error = outcome.gateway_id, outcome.result, outcome.error
            operation.finished_at = now
            items.append((operation, orders[operation.order_id], outcome))
        MoneyOperation.objects.bulk_update([operation for operation, _, _ in items],
                                           ["state", "gateway_id", "result", "error", "finished_at"])
        by_purpose: dict[str, list] = {}
        for item in items:
            by_purpose.setdefault(item[0].purpose, []).append(item)
        for purpose, batch in by_purpose.items():
            if purpose in BATCH_FINISHERS:
                BATCH_FINISHERS[purpose](items=batch)
            else:
                for operation, order, outcome in batch:
                    FINISHERS[purpose](operation=operation, order=order, outcome=outcome)
    return [operation for operation, _, _ in items]

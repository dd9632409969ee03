"""Refunds as the gateway knows them, brought into the ledger.

Our own refunds are recoverable money operations, recorded when they succeed. Two things
can still differ from the gateway afterwards, and both are handled here:

- a refund made outside our code (in Stripe's dashboard, say): `refunds_adopt` records it
  before anything else may happen to the order (disputes call it before a decision), and
  the `charge.refunded` event does the same as soon as Stripe reports it;
- a refund that fails after it was recorded (a closed card account: Stripe's
  `charge.refund.updated` with status `failed`): the money came back, so a `refund_failed`
  row balances the `refunded` one, and staff are e-mailed to return the money another way.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db import transaction

from cadcam.emails import send_templated_email
from payments.backends import get_gateway
from payments.gateway import Refund, RefundStatus
from payments.ledger import ledger_record
from payments.models import LedgerEntry, MoneyOperation
from payments.operations import Outcome, money_operation_found_late
from payments.webhooks import webhook_handler

logger = logging.getLogger(__name__)
K = LedgerEntry.Kind

MADE_ELSEWHERE = "Refund made at the payment service, outside CadCam Masters"


def _order_model():
    return LedgerEntry._meta.get_field("order").related_model


def _lock_order(order_id: int):
    return _order_model().objects.select_for_update(of=("self",)).get(pk=order_id)


def money_staff_alert(*, order, subject: str, lines: list[str]) -> None:
    """E-mail every active staff member about money that needs a person."""
    for email in get_user_model().objects.filter(is_staff=True, is_active=True).values_list("email", flat=True):
        send_templated_email(to=email, template="money_staff_alert",
                             context={"order": order, "subject_line": subject, "lines": lines})


def refunds_adopt(*, order) -> list[Refund]:
    """Record the refunds the gateway made for this order that the ledger does not know and
    that no attempt of ours is finishing. Returns them (empty when the ledger already agrees)."""
    if not order.payment_id:
        return []
    refunds = [refund for refund in get_gateway().list_refunds(order.payment_id) if refund.returned]
    # One of our own attempts, marked failed because the gateway showed nothing at the time,
    # that went through after all: it is finished as the success it was.
    late = {operation.idempotency_key: operation for operation in MoneyOperation.objects.filter(
        order_id=order.pk, kind=MoneyOperation.Kind.REFUND, state=MoneyOperation.State.FAILED)}
    recorded_ids = set(LedgerEntry.objects.filter(order_id=order.pk, kind=K.REFUNDED).values_list("gateway_id",
                                                                                                   flat=True))
    for refund in refunds:
        if refund.key in late and refund.id not in recorded_ids:
            money_operation_found_late(operation=late[refund.key], outcome=Outcome(
                succeeded=True, gateway_id=refund.id, result={"status": refund.status}, recovered=True))
    adopted = []
    with transaction.atomic():
        order = _lock_order(order.pk)
        recorded = set(order.ledger.filter(kind=K.REFUNDED).values_list("gateway_id", flat=True))
        # Refunds of our own attempts still being confirmed are left to their finisher; one of an
        # attempt marked failed that went through after all is adopted like any other.
        ours = set(MoneyOperation.objects.filter(order_id=order.pk, kind=MoneyOperation.Kind.REFUND,
                                                 state=MoneyOperation.State.STARTED)
                   .values_list("idempotency_key", flat=True))
        for refund in refunds:
            if refund.id in recorded or (refund.key and refund.key in ours):
                continue
            ledger_record(order=order, kind=K.REFUNDED, amount_cents=refund.amount_cents, gateway_id=refund.id,
                          note=MADE_ELSEWHERE)
            adopted.append(refund)
        if adopted:
            money_staff_alert(order=order, subject="A refund made outside CadCam Masters was recorded",
                              lines=[f"{refund.id}: {refund.amount_cents} cents" for refund in adopted])
    return adopted


def refund_status_sync(*, refund_id: str) -> str:
    """A refund changed at the gateway: fetched anew, a recorded refund that failed is
    balanced by a `refund_failed` row; an unknown one that went through is adopted."""
    refund = get_gateway().retrieve_refund(refund_id)
    entry = LedgerEntry.objects.filter(kind=K.REFUNDED, gateway_id=refund.id).first()
    order_id = entry.order_id if entry else _order_model().objects.filter(
        payment_id=refund.payment_id).values_list("pk", flat=True).first() if refund.payment_id else None
    if order_id is None:
        return f"no order has refund {refund.id}"
    if entry is None:
        if refund.returned:
            adopted = refunds_adopt(order=_order_model().objects.get(pk=order_id))
            return f"order #{order_id}: {len(adopted)} refund(s) made elsewhere recorded"
        return f"order #{order_id}: refund {refund.id} is {refund.status}, not recorded"
    if refund.status not in (RefundStatus.FAILED, RefundStatus.CANCELED):
        return f"order #{order_id}: refund {refund.id} is {refund.status}"
    with transaction.atomic():
        order = _lock_order(order_id)
        if order.ledger.filter(kind=K.REFUND_FAILED, gateway_id=refund.id).exists():
            return f"order #{order_id}: refund {refund.id} failure already recorded"
        ledger_record(order=order, kind=K.REFUND_FAILED, amount_cents=entry.amount_cents, gateway_id=refund.id,
                      note=f"The refund {refund.status} at the payment service: the money came back")
        money_staff_alert(order=order, subject=f"A refund {refund.status}: the client has not got the money back",
                          lines=[f"Refund {refund.id} of {entry.amount_cents} cents is {refund.status}.",
                                 "Return the money to the client another way (a new refund in Stripe's dashboard, "
                                 "which CadCam Masters then records), and check `manage.py reconcile`."])
    return f"order #{order_id}: refund {refund.id} {refund.status}, recorded"


@webhook_handler("charge.refund.updated")
def refund_updated(event: dict) -> str:
    return refund_status_sync(refund_id=event["data"]["object"]["id"])


@webhook_handler("charge.refunded")
def charge_refunded(event: dict) -> str:
    charge = event["data"]["object"]
    intent = charge.get("payment_intent")
    order = _order_model().objects.filter(payment_id=intent).first() if intent else None
    if order is None:
        return f"no order has charge {charge.get('id')}"
    adopted = refunds_adopt(order=order)
    return f"order #{order.pk}: {len(adopted)} refund(s) made elsewhere recorded"


def staff_reconcile_alert(*, problems: list[str]) -> None:
    """E-mail staff the differences the daily reconciliation found."""
    for email in get_user_model().objects.filter(is_staff=True, is_active=True).values_list("email", flat=True):
        send_templated_email(to=email, template="reconcile_alert", context={"problems": problems})

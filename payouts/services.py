"""Paying freelancers: their connected account, and each completed order's payout from
clearing to their bank.

A completed order records what its designer is owed (`Order.owed_cents`, `payout_due_at`);
the scheduled run opens a payout for it (`payouts_open`), clearing or on hold. After the
clearing period, `payout_transfer` sends the freelancer's net to their connected account
with the idempotency key `transfer:order-<id>`; when their account cannot receive payouts
yet, the payout waits and is sent as soon as `payout_account_sync` sees payouts enabled. Bank payouts and reversals
are reported by the gateway (webhooks, or the simulated gateway's timer) and recorded by
`payout_bank_update` and `payout_reversal_record`. Each money movement lands in the ledger."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from cadcam.emails import send_templated_email
from cadcam.errors import ApplicationError, InvalidTransition
from cadcam.staff import acting_as_staff
from orders.models import Order
from orders.transitions import lock_order
from payments.backends import get_gateway
from payments.gateway import GatewayError
from payments.ledger import ledger_balances, ledger_record
from payments.models import LedgerEntry, MoneyOperation
from payments.operations import (
    Outcome,
    PaymentStepPending,
    money_operation_run,
    money_operation_start,
    money_operations_settled,
)
from payments.refunds import money_staff_alert, refunds_adopt
from payments.simulated import simulated_bank_payouts_arrive
from payouts.holds import order_held
from payouts.models import Payout, PayoutAccount, PayoutCountry

logger = logging.getLogger(__name__)

P = Payout.Status
K = LedgerEntry.Kind

# A payout may be transferred from these states (clearing only once its due date passed).
TRANSFERABLE = {P.CLEARING, P.DUE, P.WAITING_FOR_ACCOUNT}
# Bank payout states as the gateway reports them, and what they mean for our payouts.
BANK_PAID, BANK_FAILED = "paid", "failed"


def _notify(payout: Payout, event: str, **context) -> None:
    send_templated_email(
        to=payout.freelancer.email, template="payout_event",
        context={"payout": payout, "order": payout.order, "event": event, "recipient": payout.freelancer, **context},
    )


def _gateway(call):
    try:
        return call(get_gateway())
    except GatewayError as error:
        raise ApplicationError(f"{error.message} Nothing was changed; please try again.") from error


# --- the freelancer's account ------------------------------------------------------------------------


def payout_account_start(*, user: User, country: str) -> PayoutAccount:
    """Open the freelancer's connected account for a bank in `country` (once; the country
    of an account cannot change at Stripe)."""
    payout_country = PayoutCountry.objects.filter(country=country, enabled=True).first()
    if payout_country is None:
        raise ApplicationError("Payouts cannot be sent to banks in that country. "
                               "See how to receive them with a EUR IBAN instead.")
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        existing = PayoutAccount.objects.filter(user=user).first()
        if existing:
            if existing.country != country:
                raise ApplicationError(
                    f"Your payout account is set up for a bank in {existing.country.name}. "
                    "To change the country, write to support."
                )
            return existing
        account = _gateway(lambda gateway: gateway.create_account(
            country=country, email=user.email, service_agreement=payout_country.service_agreement,
            reference=f"user-{user.pk}", idempotency_key=f"account:user-{user.pk}:{country}",
        ))
        return _apply_account(PayoutAccount(user=user, country=country, gateway_account_id=account.id), account)


def _apply_account(row: PayoutAccount, account) -> PayoutAccount:
    row.details_submitted = account.details_submitted
    row.payouts_enabled = account.payouts_enabled
    row.requirements_due = list(account.requirements_due)
    row.requirements_pending = list(account.requirements_pending)
    row.disabled_reason = account.disabled_reason
    row.synced_at = timezone.now()
    if row.pk is None:
        row.save()
    else:
        row.save(update_fields=["details_submitted", "payouts_enabled", "requirements_due", "requirements_pending",
                                "disabled_reason", "synced_at"])
    return row


def _next_link_key(user: User, kind: str) -> tuple[PayoutAccount, str]:
    row = PayoutAccount.objects.select_for_update().filter(user=user).first()
    if row is None:
        raise ApplicationError("Choose your bank's country first.")
    row.links_created += 1
    row.save(update_fields=["links_created"])
    return row, f"{kind}:user-{user.pk}:{row.links_created}"


@transaction.atomic
def payout_account_onboarding_link(*, user: User, refresh_url: str, return_url: str) -> str:
    """A fresh link to the gateway's hosted onboarding (links are single-use and expire)."""
    row, key = _next_link_key(user, "account-link")
    return _gateway(lambda gateway: gateway.onboarding_link(
        account_id=row.gateway_account_id, refresh_url=refresh_url, return_url=return_url, idempotency_key=key,
    ))


@transaction.atomic
def payout_account_dashboard_link(*, user: User) -> str:
    """A link into the freelancer's Express dashboard (bank details, payouts, tax forms)."""
    row, key = _next_link_key(user, "login-link")
    if not row.details_submitted:
        raise ApplicationError("Finish setting up payouts first.")
    return _gateway(lambda gateway: gateway.dashboard_link(account_id=row.gateway_account_id, idempotency_key=key))


def payout_account_sync(*, account_id: str,
                        on_enabled: Callable[[int], object] | None = None) -> PayoutAccount | None:
    """Bring our copy of a connected account up to date from the gateway (after
    `account.updated`, or when the freelancer comes back from onboarding). The account is
    fetched anew, so events that arrive late or out of order cannot leave an old state.
    When payouts become enabled, `on_enabled(user_id)` runs after commit (the callers queue
    the transfer of what waited; the scheduled run would send it too)."""
    if not PayoutAccount.objects.filter(gateway_account_id=account_id).exists():
        logger.warning("Account update for %s, which no user has", account_id)
        return None
    account = _gateway(lambda gateway: gateway.retrieve_account(account_id))
    with transaction.atomic():
        row = PayoutAccount.objects.select_for_update().get(gateway_account_id=account_id)
        was_enabled = row.payouts_enabled
        row = _apply_account(row, account)
        if row.payouts_enabled and not was_enabled and on_enabled is not None:
            user_id = row.user_id
            transaction.on_commit(lambda: on_enabled(user_id))
    return row


# --- payouts -------------------------------------------------------------------------------------------


def payout_open(*, order: Order) -> Payout:
    """Open the payout of a completed order: what the order recorded as owed to the designer
    starts clearing until its payout date, or waits on hold while a registered hold (an open
    chargeback) keeps the money with the platform. Opening twice returns the same payout."""
    with transaction.atomic():
        order = lock_order(order)
        if order.status != Order.Status.COMPLETED or order.owed_cents is None:
            raise InvalidTransition(f"Order #{order.pk} is {order.get_status_display().lower()}: nothing is owed yet.")
        if order.owed_cents <= 0:
            raise InvalidTransition(f"Order #{order.pk} owes its designer nothing (refunded).")
        payout, _ = Payout.objects.get_or_create(
            order=order,
            defaults={"freelancer_id": order.freelancer_id, "amount_cents": order.owed_cents,
                      "currency": order.currency, "due_at": order.payout_due_at,
                      "status": P.ON_HOLD if order_held(order) else P.CLEARING},
        )
    return payout


def payouts_open(*, limit: int = 1000) -> int:
    """Open the payouts of completed orders that have none yet (the scheduled run starts
    with this, so a payout exists within a minute or so of completion)."""
    ids = list(Order.objects.filter(status=Order.Status.COMPLETED, owed_cents__gt=0, payout__isnull=True)
               .order_by("pk").values_list("pk", flat=True)[:limit])
    opened = 0
    for pk in ids:
        try:
            payout_open(order=Order(pk=pk))
        except Exception:  # one broken order must not stop the others' payouts; reconcile flags it
            logger.exception("The payout of order %s could not be opened", pk)
            continue
        opened += 1
    return opened


# A chargeback can hold a payout that has not left the platform yet.
HOLDABLE = {P.CLEARING, P.DUE, P.WAITING_FOR_ACCOUNT}
# A transfer that left can be reversed (taken back from the designer's Stripe balance).
REVERSIBLE = {P.TRANSFERRED, P.PAID, P.FAILED}
TRANSFER, REVERSE = "payout.transfer", "payout.reverse"


def _lock_payout(order_id: int, **filters) -> Payout | None:
    """The order's payout, locked after its order (the one lock order: order, payout, account)."""
    return Payout.objects.select_for_update(of=("self",)).filter(order_id=order_id, **filters).first()


def payout_hold(*, order) -> bool:
    """Hold the order's payout for a chargeback (call with the order locked). True when the
    money stays with the platform: the payout is (now) on hold, or not made yet (it will be
    opened on hold while the hold check says so)."""
    payout = _lock_payout(order.pk)
    if payout is None:
        return True
    if payout.status in HOLDABLE:
        payout.status = P.ON_HOLD
        payout.save(update_fields=["status", "updated_at"])
    # A transfer already on its way may still go through (its finisher then records it as
    # transferred): the money is not known to stay, so it does not count as held.
    in_flight = MoneyOperation.objects.filter(order_id=order.pk, kind=MoneyOperation.Kind.TRANSFER,
                                              state=MoneyOperation.State.STARTED).exists()
    return payout.status == P.ON_HOLD and not in_flight


def payout_release(*, order) -> Payout | None:
    """Staff release a held payout (call with the order locked): it clears again and the next
    run sends it once due."""
    payout = _lock_payout(order.pk)
    if payout is not None and payout.status == P.ON_HOLD:
        payout.status = P.CLEARING
        payout.save(update_fields=["status", "updated_at"])
    return payout


def _captured_charge(order, gateway) -> str:
    """The charge a transfer draws on. A capture recorded with its PaymentIntent's id (the
    gateway did not name the charge) is looked up."""
    entry = order.ledger.filter(kind=K.CAPTURED).first()
    if entry is None or not entry.gateway_id:
        raise InvalidTransition(f"Order #{order.pk} has no captured charge to pay out from.")
    if entry.gateway_id == order.payment_id:
        return gateway.retrieve(order.payment_id).charge_id or entry.gateway_id
    return entry.gateway_id


def payout_transfer(*, payout: Payout, now: datetime | None = None) -> Payout:
    """Send a cleared payout to the freelancer's connected account, once.

    Waits (status `waiting_for_account`) while their account cannot receive payouts. The
    transfer is a recoverable money operation (`transfer:order-<id>:<attempt>`, its key also
    in the transfer's metadata): a failure keeps the payout due with the error for staff and
    the next run; a lost answer is found by the recovery job. A transfer already made for the
    order (its transfer_group) is taken over, not made again."""
    now = now or timezone.now()
    order_id = Payout.objects.values_list("order_id", flat=True).get(pk=payout.pk)
    gateway = get_gateway()
    operation = None
    try:  # a refund made at the payment service since completion changes what is owed
        refunds_adopt(order=Order.objects.get(pk=order_id))
    except GatewayError as error:
        logger.warning("Refunds of order %s could not be checked before its transfer: %s", order_id, error)
        return Payout.objects.get(pk=payout.pk)
    with transaction.atomic():
        order = lock_order(Order(pk=order_id))
        payout = Payout.objects.select_for_update(of=("self",)).select_related("freelancer").get(pk=payout.pk)
        if payout.status not in TRANSFERABLE:
            raise InvalidTransition(f"This payout is {payout.get_status_display().lower()}: it cannot be sent now.")
        if now < payout.due_at:
            raise InvalidTransition(f"This payout clears on {payout.due_at:%Y-%m-%d}.")
        account = PayoutAccount.objects.filter(user_id=payout.freelancer_id).first()
        if account is None or not account.payouts_enabled:
            if payout.status != P.WAITING_FOR_ACCOUNT:
                payout.status = P.WAITING_FOR_ACCOUNT
                payout.save(update_fields=["status", "updated_at"])
                _notify(payout, "waiting_for_account")
            return payout
        money_operations_settled(order)
        kept = ledger_balances([order.pk]).get(order.pk)
        if kept is not None and kept.kept_by_platform != order.owed_cents:
            _hold_for_staff(payout, order, f"The ledger now keeps {kept.kept_by_platform} cents for the designer, "
                                           f"but the order recorded {order.owed_cents} as owed (a refund made "
                                           "after completion?). Staff decide before anything is paid.")
            return payout
        group = f"order-{order.pk}"
        try:
            made = gateway.list_transfers(transfer_group=group)
            source = _captured_charge(order, gateway)
        except GatewayError as error:
            payout.status, payout.last_error = P.DUE, str(error)
            payout.save(update_fields=["status", "last_error", "updated_at"])
            return payout
        if made:  # made by a lost attempt the recovery job has not seen, or outside our code
            ours = [t for t in made if t.destination == account.gateway_account_id
                    and t.amount_cents == payout.amount_cents]
            if len(made) == 1 and ours:
                _mark_transferred(payout, order, transfer_id=ours[0].id, amount_cents=ours[0].amount_cents, now=now)
            else:  # not this payout's transfer: paying now could pay twice, or the wrong person
                payout.status = P.DUE
                payout.last_error = ("The order's transfer group already has a transfer that is not this payout's ("
                                     + ", ".join(f"{t.id}: {t.amount_cents} to {t.destination}" for t in made)
                                     + "). Staff must check it in Stripe before paying.")
                payout.save(update_fields=["status", "last_error", "updated_at"])
            return payout
        payout.status = P.DUE
        payout.attempts += 1
        payout.save(update_fields=["status", "attempts", "updated_at"])
        operation = money_operation_start(
            order=order, kind=MoneyOperation.Kind.TRANSFER, purpose=TRANSFER, amount_cents=payout.amount_cents,
            params={"destination": account.gateway_account_id, "transfer_group": group, "source_transaction": source},
            context={"payout": payout.pk},
        )
    try:
        money_operation_run(operation, gateway=gateway)
    except PaymentStepPending:
        logger.warning("Transfer for order %s: no answer yet; the recovery job finishes it", order_id)
    except ApplicationError as error:  # refused: recorded on the payout by the finisher, retried next run
        logger.warning("Transfer for order %s failed: %s", order_id, error.message)
    payout.refresh_from_db()
    return payout


def _hold_for_staff(payout: Payout, order, why: str) -> None:
    if payout.status == P.ON_HOLD and payout.last_error == why:
        return
    payout.status, payout.last_error = P.ON_HOLD, why
    payout.save(update_fields=["status", "last_error", "updated_at"])
    money_staff_alert(order=order, subject="A payout is held: what the designer is owed changed",
                      lines=[why, "Admin > Payouts shows it; release it only once the amount is right."])


def _mark_transferred(payout: Payout, order, *, transfer_id: str, amount_cents: int, now: datetime) -> None:
    if amount_cents != payout.amount_cents:
        logger.error("Order #%s: the gateway transferred %s for a payout of %s", order.pk, amount_cents,
                     payout.amount_cents)
    payout.status = P.TRANSFERRED
    payout.transfer_id = transfer_id
    payout.transferred_at = now
    payout.last_error = ""
    payout.save(update_fields=["status", "transfer_id", "transferred_at", "last_error", "updated_at"])
    ledger_record(order=order, kind=K.TRANSFERRED, amount_cents=amount_cents, gateway_id=transfer_id)
    _notify(payout, "transferred")


def transfer_finished(*, operation: MoneyOperation, order, outcome: Outcome) -> None:
    payout = _lock_payout(order.pk, pk=operation.context["payout"])
    if outcome.succeeded:
        amount = outcome.result.get("amount_cents") or operation.amount_cents
        _mark_transferred(payout, order, transfer_id=outcome.gateway_id, amount_cents=amount, now=timezone.now())
    elif payout.status in TRANSFERABLE:
        payout.status, payout.last_error = P.DUE, outcome.error
        payout.save(update_fields=["status", "last_error", "updated_at"])


def payout_reverse(*, payout: Payout, by: User, reason: str) -> Payout:
    """Staff take back what is left of a transfer from the designer's Stripe balance (after a
    chargeback was lost, say). A recoverable money operation (`reversal:order-<id>:<n>`)."""
    if not acting_as_staff(by):
        raise ApplicationError("Only staff can reverse a transfer.")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Give the reason: the designer reads it.")
    order_id = Payout.objects.values_list("order_id", flat=True).get(pk=payout.pk)
    with transaction.atomic(durable=True):
        order = lock_order(Order(pk=order_id))
        payout = _lock_payout(order.pk, pk=payout.pk)
        if payout.status not in REVERSIBLE or not payout.transfer_id:
            raise InvalidTransition(f"This payout is {payout.get_status_display().lower()}: there is no transfer "
                                    "to reverse.")
        left = payout.amount_cents - payout.reversed_cents
        operation = money_operation_start(
            order=order, kind=MoneyOperation.Kind.REVERSAL, purpose=REVERSE, amount_cents=left,
            params={"transfer_id": payout.transfer_id}, context={"payout": payout.pk, "by": by.pk, "reason": reason},
        )
    money_operation_run(operation)
    payout.refresh_from_db()
    return payout


def reversal_finished(*, operation: MoneyOperation, order, outcome: Outcome) -> None:
    if outcome.succeeded:
        payout = _lock_payout(order.pk, pk=operation.context["payout"])
        transfer = get_gateway().retrieve_transfer(payout.transfer_id)
        _record_reversed(payout, order, total_reversed=transfer.amount_reversed_cents)
        _notify(payout, "reversed", reason=operation.context.get("reason", ""))


def _record_reversed(payout: Payout, order, *, total_reversed: int) -> None:
    """Bring the payout and the ledger to the transfer's total reversed amount (only the part
    not recorded yet is added: the webhook and our own reversal may both report it)."""
    if total_reversed <= payout.reversed_cents:
        return
    ledger_record(order=order, kind=K.REVERSED, gateway_id=f"{payout.transfer_id}:{total_reversed}",
                  amount_cents=total_reversed - payout.reversed_cents)
    payout.reversed_cents = total_reversed
    if payout.reversed_cents >= payout.amount_cents:
        payout.status = P.REVERSED
    payout.save(update_fields=["reversed_cents", "status", "updated_at"])


FINISHERS = {TRANSFER: transfer_finished, REVERSE: reversal_finished}


def payout_retry(*, payout: Payout, by: User) -> Payout:
    """Staff's "retry transfer": the same service and idempotency key as the scheduled run."""
    if not acting_as_staff(by):
        raise ApplicationError("Only staff can retry a transfer.")
    payout = payout_transfer(payout=payout)
    if payout.status == P.DUE and MoneyOperation.objects.filter(order_id=payout.order_id, state="started").exists():
        raise ApplicationError("The transfer was sent but the payment service has not answered yet; the recovery "
                               "job confirms it within minutes.")
    if payout.status == P.DUE and payout.last_error:
        raise ApplicationError(f"The transfer failed again: {payout.last_error}")
    return payout


def payouts_run(*, now: datetime | None = None) -> dict[str, int]:
    """The scheduled run: send every payout that is due (idempotent, safe to run twice)."""
    now = now or timezone.now()
    counts = {"opened": payouts_open(), "transferred": 0, "waiting": 0, "failed": 0}
    ids = list(Payout.objects.filter(status__in=[P.CLEARING, P.DUE], due_at__lte=now).values_list("pk", flat=True))
    ids += Payout.objects.filter(status=P.WAITING_FOR_ACCOUNT, freelancer__payout_account__payouts_enabled=True,
                                 due_at__lte=now).values_list("pk", flat=True)
    for pk in ids:
        try:
            payout = payout_transfer(payout=Payout(pk=pk), now=now)
        except (InvalidTransition, ApplicationError) as error:
            logger.info("Payout %s skipped: %s", pk, error)
            continue
        except Exception:  # one broken payout must not stop the others; it is retried next run
            logger.exception("Payout %s failed", pk)
            counts["failed"] += 1
            continue
        key = {P.TRANSFERRED: "transferred", P.WAITING_FOR_ACCOUNT: "waiting"}.get(payout.status, "failed")
        counts[key] += 1
    if get_gateway().name == "simulated":
        for bank_payout in simulated_bank_payouts_arrive(now=now):
            try:
                payout_bank_update(account_id=bank_payout.account_id, bank_payout_id=bank_payout.id)
            except Exception:
                logger.exception("Simulated bank payout %s not recorded", bank_payout.id)
    return counts


def payouts_transfer_waiting(*, user_id: int) -> int:
    """Send the payouts that waited for this freelancer's account."""
    sent = 0
    now = timezone.now()
    for pk in Payout.objects.filter(freelancer_id=user_id, status=P.WAITING_FOR_ACCOUNT,
                                    due_at__lte=now).values_list("pk", flat=True):
        try:
            if payout_transfer(payout=Payout(pk=pk), now=now).status == P.TRANSFERRED:
                sent += 1
        except (InvalidTransition, ApplicationError) as error:  # e.g. the scheduled run sent it meanwhile
            logger.info("Payout %s skipped: %s", pk, error)
    return sent


def payout_bank_update(*, account_id: str, bank_payout_id: str) -> list[Payout]:
    """A bank payout of a connected account was paid or failed. The payout is fetched anew
    from the gateway, so its current state counts, not the order events arrived in; so are
    the transfers it carried, and only their payouts change. A payout that failed before is
    settled by the later bank payout that carries its money (Stripe makes a new one)."""
    row = PayoutAccount.objects.filter(gateway_account_id=account_id).first()
    if row is None:
        logger.warning("Bank payout %s for unknown account %s", bank_payout_id, account_id)
        return []
    bank_payout = _gateway(lambda g: g.retrieve_bank_payout(account_id=account_id, payout_id=bank_payout_id))
    if bank_payout.status not in (BANK_PAID, BANK_FAILED):
        return []
    transfer_ids = _gateway(lambda g: g.bank_payout_transfer_ids(account_id=account_id, payout_id=bank_payout_id))
    changed, failed = [], []
    with transaction.atomic():
        candidates = Payout.objects.filter(freelancer_id=row.user_id, transfer_id__in=transfer_ids,
                                           status__in=[P.TRANSFERRED, P.FAILED, P.PAID])
        # The one lock order: orders first (by id), then their payouts.
        orders = {order.pk: order for order in Order.objects.select_for_update(of=("self",)).filter(
            pk__in=candidates.values("order_id")).order_by("pk")}
        for payout in candidates.select_for_update(of=("self",)).select_related("freelancer").order_by("order_id"):
            order = orders[payout.order_id]
            kept = payout.amount_cents - payout.reversed_cents
            if bank_payout.status == BANK_PAID and payout.status != P.PAID:
                payout.status = P.PAID
                payout.paid_at = timezone.now()
                payout.failure_message = ""
                ledger_record(order=order, kind=K.PAID_OUT, gateway_id=bank_payout.id, amount_cents=kept)
            elif bank_payout.status == BANK_FAILED and payout.status == P.TRANSFERRED:
                payout.status = P.FAILED
                payout.failure_message = bank_payout.failure_message or "Your bank refused the payout."
                failed.append(payout)
            elif (bank_payout.status == BANK_FAILED and payout.status == P.PAID
                  and payout.bank_payout_id == bank_payout.id):
                # Paid, then returned by the bank (a payout can fail days after it was paid).
                payout.status = P.FAILED
                payout.paid_at = None
                payout.failure_message = bank_payout.failure_message or "Your bank returned the payout."
                ledger_record(order=order, kind=K.PAYOUT_FAILED, gateway_id=bank_payout.id, amount_cents=kept)
                failed.append(payout)
            else:
                continue
            payout.bank_payout_id = bank_payout.id
            payout.save(update_fields=["status", "paid_at", "failure_message", "bank_payout_id", "updated_at"])
            changed.append(payout)
    if failed:  # one e-mail per bank payout, naming its orders
        _notify(failed[0], "failed", payouts=failed)
    return changed


def payout_reversal_record(*, transfer_id: str) -> Payout | None:
    """A transfer was (partly) reversed: the money is back with the platform. The transfer is
    fetched anew, and only the part not recorded yet is added to the ledger."""
    order_id = Payout.objects.filter(transfer_id=transfer_id).values_list("order_id", flat=True).first()
    if order_id is None:
        logger.warning("Reversal of transfer %s, which no payout has", transfer_id)
        return None
    transfer = _gateway(lambda gateway: gateway.retrieve_transfer(transfer_id))
    with transaction.atomic():
        order = lock_order(Order(pk=order_id))
        payout = _lock_payout(order.pk, transfer_id=transfer_id)
        _record_reversed(payout, order, total_reversed=transfer.amount_reversed_cents)
        return payout

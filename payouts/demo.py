"""Demo payouts for `make run` (called from cadcam/management/commands/seed_demo.py).

The demo designer (@freelancer) has payouts connected on the simulated gateway and an
earnings history: cases from three labs completed over the past ten months, each walked
through the real services (payment, acceptance, completion, transfer, bank payout) and then
moved back in time to the month it belongs to. So the earnings chart, the totals and the
tables on /payouts/ show a believable year, and `manage.py reconcile` holds for all of it.

A history order is recognised by its lab reference ("Lab ref HIST-..."), so running the seed
again creates nothing new."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Case, Value, When
from django.utils import timezone

from accounts.models import User
from listings.models import Listing
from orders.demo import INCISOR, MOLAR, PREMOLAR, dental_stl, die
from orders.models import Order, OrderEvent
from orders.services import order_accept, order_complete, order_create, order_mark_authorized
from orders.transitions import ACCEPT_WINDOW, AUTO_COMPLETE_AFTER, PAYOUT_CLEARING
from payments.backends import get_gateway
from payments.models import LedgerEntry, SimulatedTransfer
from payments.simulated import (
    SIMULATED_BANK_PAYOUT_DELAY,
    SimulatedGateway,
    simulated_account_onboard,
    simulated_bank_payouts_arrive,
)
from payouts.models import Payout, PayoutAccount
from payouts.services import (
    payout_account_start,
    payout_account_sync,
    payout_bank_update,
    payout_open,
    payout_transfer,
)

CROWNS = "Zirconia crowns and bridges designed in exocad, ready to mill"
VENEERS = "Lithium disilicate veneers, inlays and onlays for press or milling"
SMILE = "Digital smile design with wax-up and printable mock-up"


@dataclass(frozen=True)
class PastOrder:
    ref: str
    client: str  # demo username
    listing: str
    quantity: int
    days_ago: int  # when it completed
    note: str


HISTORY = [
    PastOrder("HIST-0107", "employer", CROWNS, 2, 298, "Teeth 46 and 47, two zirconia crowns, shade A3."),
    PastOrder("HIST-0121", "marco-designs", VENEERS, 2, 265, "Veneers 11 and 21, e.max, shade BL2."),
    PastOrder("HIST-0133", "employer", CROWNS, 3, 230, "Bridge 24-26 in zirconia, shade A2."),
    PastOrder("HIST-0140", "aiko-cad", SMILE, 1, 201, "Smile design 13-23, mock-up in A1 resin."),
    PastOrder("HIST-0152", "employer", CROWNS, 1, 170, "Crown 16 on a Ti-base, shade A3.5."),
    PastOrder("HIST-0168", "marco-designs", CROWNS, 4, 139, "Four crowns 34-37, monolithic zirconia."),
    PastOrder("HIST-0175", "employer", VENEERS, 4, 108, "Veneers 12-22, minimal preparation."),
    PastOrder("HIST-0183", "aiko-cad", CROWNS, 2, 77, "Crowns 26 and 27, shade B2."),
    PastOrder("HIST-0190", "employer", SMILE, 1, 45, "Smile design 14-24 with transfer key."),
    PastOrder("HIST-0196", "employer", CROWNS, 3, 19, "Bridge 44-46, connectors at least 9 mm²."),
    PastOrder("HIST-0201", "marco-designs", VENEERS, 1, 4, "Inlay 36, e.max CAD."),
]
TEETH = {CROWNS: (MOLAR,), VENEERS: (INCISOR,), SMILE: (INCISOR, PREMOLAR)}


def seed_payouts(users: dict[str, User]) -> list[Order]:
    """Connect the demo designer's payouts and create the earnings history that is missing."""
    if get_gateway().name != "simulated":
        return []  # with Stripe configured, payouts are real: onboarding happens at Stripe
    freelancer = users["freelancer"]
    _connect(freelancer)
    history = []
    for spec in HISTORY:
        existing = Order.objects.filter(freelancer=freelancer, instructions__startswith=f"Lab ref {spec.ref}\n").first()
        history.append(existing or _create(spec, client=users[spec.client], freelancer=freelancer))
    return history


def _connect(freelancer: User) -> None:
    account = PayoutAccount.objects.filter(user=freelancer).first()
    if account and account.payouts_enabled:
        return
    account = account or payout_account_start(user=freelancer, country="DE")
    simulated_account_onboard(account_id=account.gateway_account_id, account_holder="Elena Marsh",
                              iban="DE89370400440532013000")
    payout_account_sync(account_id=account.gateway_account_id)


def _create(spec: PastOrder, *, client: User, freelancer: User) -> Order:
    listing = Listing.objects.get(owner=freelancer, title=spec.listing, edit_of__isnull=True, is_private=False)
    order = order_create(
        listing=listing, employer=client, quantity=spec.quantity if listing.is_per_unit else 1,
        instructions=f"Lab ref {spec.ref}\n{spec.note}",
        files=[dental_stl(f"{spec.ref.lower()}.stl", map(die, TEETH[spec.listing]), title=spec.ref)],
    )
    SimulatedGateway().customer_pays(payment_id=order.payment_id, approve=True)
    order = order_mark_authorized(order=order)
    order = order_accept(order=order, by=freelancer)
    order = order_complete(order=order, by=client)
    payout_open(order=order)
    _move_back(order, timedelta(days=spec.days_ago))
    payout = Payout.objects.get(order=order)
    now = timezone.now()
    if payout.due_at <= now:
        transferred_at = payout.due_at + timedelta(hours=1)
        payout = payout_transfer(payout=payout, now=transferred_at)
        SimulatedTransfer.objects.filter(transfer_group=f"order-{order.pk}").update(created_at=transferred_at)
        if transferred_at + SIMULATED_BANK_PAYOUT_DELAY <= now:
            for bank_payout in simulated_bank_payouts_arrive(now=now):
                payout_bank_update(account_id=bank_payout.account_id, bank_payout_id=bank_payout.id)
            Payout.objects.filter(pk=payout.pk, status=Payout.Status.PAID).update(
                paid_at=transferred_at + SIMULATED_BANK_PAYOUT_DELAY)
    order.refresh_from_db()
    return order


def _move_back(order: Order, age: timedelta) -> None:
    """Make a just-completed order look as if it had completed `age` ago, sent five days
    before and accepted the next day (a demo-only rewrite of timestamps; states and amounts
    stay as the services left them)."""
    completed = timezone.now() - age
    sent = completed - timedelta(days=5)
    accepted = sent + timedelta(days=1)
    Order.objects.filter(pk=order.pk).update(
        created_at=sent, authorized_at=sent + timedelta(minutes=4), accept_by=sent + ACCEPT_WINDOW,
        accepted_at=accepted, auto_complete_at=accepted + AUTO_COMPLETE_AFTER, completed_at=completed,
        payout_due_at=completed + PAYOUT_CLEARING,
    )
    S = Order.Status
    when = {S.PENDING_PAYMENT: sent, S.REQUESTED: sent + timedelta(minutes=4), S.ACCEPTED: accepted,
            S.COMPLETED: completed}
    OrderEvent.objects.filter(order=order).update(
        created_at=Case(*(When(to_status=status, then=Value(moment)) for status, moment in when.items()))
    )
    kinds = {LedgerEntry.Kind.AUTHORIZED: sent, LedgerEntry.Kind.CAPTURED: accepted, LedgerEntry.Kind.FEE: completed}
    LedgerEntry.objects.filter(order=order).update(
        created_at=Case(*(When(kind=kind, then=Value(moment)) for kind, moment in kinds.items()))
    )
    Payout.objects.filter(order=order).update(due_at=completed + PAYOUT_CLEARING)

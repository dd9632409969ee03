"""The reads behind the earnings and spending pages, the CSV export and receipts.

Every amount is integer cents, summed by the database: each function runs a fixed number
of queries however many orders the user has. Months and dates are bucketed in the time
zone passed in, by default the current one, which `UserTimezoneMiddleware` sets to the
signed-in user's profile time zone (UTC for users who did not choose one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.http import Http404
from django.utils import timezone

from cadcam.staff import acting_as_staff
from orders.models import Order
from orders.selectors import order_for
from payments.models import LedgerEntry
from payouts.models import Payout, PayoutAccount

S = Order.Status
P = Payout.Status
K = LedgerEntry.Kind

# The freelancer's money is held by the platform while the order is in these states.
ESCROW_STATES = [S.ACCEPTED, S.DELIVERED, S.DISPUTED]
CLEARING_DATES_SHOWN = 6


def _sum(expression, **filters) -> Coalesce:
    """SUM(expression) over the rows matching `filters`, 0 when there are none."""
    condition = Q(**filters) if filters else None
    return Coalesce(Sum(expression, filter=condition), Value(0), output_field=IntegerField())


def _ledger_sum(kind: str) -> Coalesce:
    """Per order: the sum of its ledger rows of this kind, 0 when it has none (a subquery)."""
    rows = (LedgerEntry.objects.filter(order=OuterRef("pk"), kind=kind).order_by().values("order")
            .annotate(total=Sum("amount_cents")).values("total"))
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0), output_field=IntegerField())


# --- the freelancer ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClearingDate:
    day: date
    amount_cents: int
    orders: int


@dataclass(frozen=True)
class EarningsSummary:
    """A freelancer's money by where it is now. See docs/payouts-ui.md for each figure."""

    escrow_cents: int = 0  # net of orders still in progress (accepted, delivered, disputed)
    escrow_orders: int = 0
    clearing_cents: int = 0  # completed orders in their clearing period
    clearing_orders: int = 0
    due_cents: int = 0  # cleared; the next payout run sends them
    waiting_cents: int = 0  # cleared, but the freelancer's payout account cannot receive yet
    transferred_cents: int = 0  # in the freelancer's Stripe balance, on the way to the bank
    paid_cents: int = 0  # arrived at the bank
    failed_cents: int = 0  # the bank refused the payout; the details must be fixed
    on_hold_cents: int = 0  # held while the client's card dispute (chargeback) is open
    earned_cents: int = 0  # all payouts of completed orders, less reversals
    gross_cents: int = 0  # what clients paid for the completed orders
    fees_cents: int = 0  # the platform fees kept on completed orders (ledger)
    completed_orders: int = 0
    next_clearing: list[ClearingDate] = field(default_factory=list)

    @property
    def has_money(self) -> bool:
        return bool(self.escrow_orders or self.completed_orders)


def payout_account_of(user) -> PayoutAccount | None:
    """The user's connected account for payouts, if they started one."""
    return PayoutAccount.objects.filter(user=user).first()


def earnings_summary(user, *, tz: tzinfo | None = None) -> EarningsSummary:
    """Totals for the earnings page, in four queries. A completed order whose payout the
    scheduled run has not opened yet counts as clearing, with what the order says it owes."""
    tz = tz or timezone.get_current_timezone()
    completed = Q(status=S.COMPLETED)
    unopened = completed & Q(payout__isnull=True)
    clearing = unopened | (completed & Q(payout__status=P.CLEARING))
    orders = Order.objects.filter(freelancer=user).aggregate(
        escrow_cents=_sum("net_cents", status__in=ESCROW_STATES),
        escrow_orders=Count("pk", filter=Q(status__in=ESCROW_STATES)),
        gross_cents=_sum("total_cents", status=S.COMPLETED),
        completed_orders=Count("pk", filter=completed),
        clearing_cents=Coalesce(Sum("owed_cents", filter=clearing), Value(0), output_field=IntegerField()),
        clearing_orders=Count("pk", filter=clearing),
        unopened_cents=Coalesce(Sum("owed_cents", filter=unopened), Value(0), output_field=IntegerField()),
    )
    unopened_cents = orders.pop("unopened_cents")
    kept = F("amount_cents") - F("reversed_cents")
    payouts = Payout.objects.filter(freelancer=user).aggregate(
        due_cents=_sum("amount_cents", status=P.DUE),
        waiting_cents=_sum("amount_cents", status=P.WAITING_FOR_ACCOUNT),
        transferred_cents=_sum(kept, status=P.TRANSFERRED),
        paid_cents=_sum(kept, status=P.PAID),
        failed_cents=_sum(kept, status=P.FAILED),
        on_hold_cents=_sum("amount_cents", status=P.ON_HOLD),
        earned_cents=_sum(kept),
    )
    payouts["earned_cents"] += unopened_cents
    fees = LedgerEntry.objects.filter(order__freelancer=user).aggregate(fees_cents=_sum("amount_cents", kind=K.FEE))
    next_clearing = [
        ClearingDate(day=row["day"], amount_cents=row["amount_cents"], orders=row["orders"])
        for row in Order.objects.filter(clearing, freelancer=user)
        .annotate(day=TruncDate("payout_due_at", tzinfo=tz)).order_by().values("day")
        .annotate(amount_cents=Sum("owed_cents"), orders=Count("pk")).order_by("day")[:CLEARING_DATES_SHOWN]
    ]
    return EarningsSummary(**orders, **payouts, **fees, next_clearing=next_clearing)


@dataclass(frozen=True)
class MonthEarnings:
    month: date  # the first day of the month
    earned_cents: int  # what the freelancer gets for the orders completed that month
    gross_cents: int
    orders: int


def _month_start(moment: datetime, tz: tzinfo) -> date:
    local = timezone.localtime(moment, tz)
    return date(local.year, local.month, 1)


def _months_back(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def earnings_by_month(user, *, months: int = 12, now: datetime | None = None,
                      tz: tzinfo | None = None) -> list[MonthEarnings]:
    """One row per month, oldest first, for the `months` months up to and including the one
    of `now`, with zeros for months without completed orders. An order counts in the month
    (in `tz`) it was completed; what it earned is its payout: the net after the fee, less any
    part refunded or reversed (the order's net when nothing was taken back). One query."""
    tz = tz or timezone.get_current_timezone()
    now = now or timezone.now()
    last = _month_start(now, tz)
    first = _months_back(last, months - 1)
    start = timezone.make_aware(datetime(first.year, first.month, 1), tz)
    rows = (
        Order.objects.filter(freelancer=user, status=S.COMPLETED, completed_at__gte=start, completed_at__lte=now)
        .annotate(month=TruncMonth("completed_at", tzinfo=tz)).order_by().values("month")
        .annotate(earned=Sum(F("owed_cents") - Coalesce("payout__reversed_cents", Value(0))),
                  gross=Sum("total_cents"), orders=Count("pk"))
    )
    by_month = {timezone.localtime(row["month"], tz).date() if isinstance(row["month"], datetime) else row["month"]:
                row for row in rows}
    result = []
    for back in range(months - 1, -1, -1):
        month = _months_back(last, back)
        row = by_month.get(month, {})
        result.append(MonthEarnings(month=month, earned_cents=row.get("earned", 0), gross_cents=row.get("gross", 0),
                                    orders=row.get("orders", 0)))
    return result


def earnings_orders(user) -> QuerySet[Order]:
    """The freelancer's orders that took money (accepted onward), newest first, with the
    client and the payout in the same query and these annotations, in cents:
    `gross` (what the client paid), `fee` (the platform fee kept; expected fee while the
    order is open; 0 when refunded in full), `net` (what the freelancer gets: the payout less
    reversals once completed, the expected net while open, 0 when refunded in full)."""
    refunded = Q(status=S.REFUNDED)
    completed = Q(status=S.COMPLETED)
    has_payout = Q(payout__isnull=False)
    return (
        Order.objects.filter(freelancer=user, accepted_at__isnull=False)
        .select_related("payout", "employer__profile")
        .annotate(
            gross=F("total_cents"),
            fee=Case(When(completed, then=_ledger_sum(K.FEE)), When(refunded, then=Value(0)),
                     default=F("fee_cents"), output_field=IntegerField()),
            net=Case(When(has_payout, then=F("payout__amount_cents") - F("payout__reversed_cents")),
                     When(completed, then=F("owed_cents")), When(refunded, then=Value(0)),
                     default=F("net_cents"), output_field=IntegerField()),
        )
        .order_by("-accepted_at", "-pk")
    )


def payout_state_label(order: Order) -> str:
    """Where the freelancer's money for this order is, in words (for the table and the CSV)."""
    payout = getattr(order, "payout", None)
    if payout is not None:
        return payout.get_status_display()
    if order.status == S.COMPLETED:  # the scheduled run opens its payout within a minute
        return Payout.Status.CLEARING.label
    if order.status in ESCROW_STATES:
        return "In escrow"
    if order.status == S.REFUNDED:
        return "Refunded to the client"
    return order.get_status_display()


# --- the employer ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendingTotals:
    paid_cents: int = 0  # captured from the employer's card
    refunded_cents: int = 0  # returned to it
    orders: int = 0

    @property
    def net_cents(self) -> int:
        return self.paid_cents - self.refunded_cents


def spending_of(user) -> tuple[QuerySet[Order], SpendingTotals]:
    """The employer's orders whose payment was captured (including those refunded later),
    newest first, annotated with `paid` and `refunded` cents from the ledger; and the totals.
    Two queries (plus the page's count)."""
    orders = (
        Order.objects.filter(employer=user, ledger__kind=K.CAPTURED)
        .select_related("freelancer__profile")
        .annotate(paid=_ledger_sum(K.CAPTURED), refunded=_ledger_sum(K.REFUNDED))
        .order_by("-accepted_at", "-pk")
    )
    totals = LedgerEntry.objects.filter(order__employer=user).aggregate(
        paid_cents=_sum("amount_cents", kind=K.CAPTURED),
        refunded_cents=_sum("amount_cents", kind=K.REFUNDED),
        orders=Count("order", filter=Q(kind=K.CAPTURED), distinct=True),
    )
    return orders, SpendingTotals(**totals)


# --- receipts -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    order: Order
    number: str
    authorized_at: datetime | None
    captured_at: datetime
    paid_cents: int
    payment_reference: str  # the end of the charge's id only (enough to find it, not to quote it whole)
    refunds: list[LedgerEntry]

    @property
    def refunded_cents(self) -> int:
        return sum(entry.amount_cents for entry in self.refunds)

    @property
    def net_paid_cents(self) -> int:
        return self.paid_cents - self.refunded_cents


REFERENCE_CHARACTERS_SHOWN = 6


def short_reference(gateway_id: str) -> str:
    """The last characters of a gateway id, without its type prefix: ch_3PzX...9aB2cD -> 9aB2cD."""
    return gateway_id.rsplit("_", 1)[-1][-REFERENCE_CHARACTERS_SHOWN:]


def receipt_for(viewer, pk: int) -> Receipt:
    """The receipt of an order whose payment was captured. It is the client's document (it
    shows their billing details): the client and staff may see it; for anyone else, the
    designer included, and for orders that never charged the card, it does not exist (404).
    Three queries."""
    order = order_for(viewer, pk)
    if order.employer_id != viewer.pk and not acting_as_staff(viewer):
        raise Http404
    ledger = list(order.ledger.filter(kind__in=[K.AUTHORIZED, K.CAPTURED, K.REFUNDED]))
    captured = next((entry for entry in ledger if entry.kind == K.CAPTURED), None)
    if captured is None:
        raise Http404
    authorized = next((entry for entry in ledger if entry.kind == K.AUTHORIZED), None)
    reference = captured.gateway_id or order.payment_id
    return Receipt(
        order=order,
        number=f"CCM-{captured.created_at:%Y}-{order.pk:06d}",
        authorized_at=order.authorized_at or (authorized and authorized.created_at),
        captured_at=captured.created_at,
        paid_cents=captured.amount_cents,
        payment_reference=short_reference(reference),
        refunds=[entry for entry in ledger if entry.kind == K.REFUNDED],
    )


# --- the data export (registered with accounts in PayoutsConfig.ready) ----------------------------------


def payouts_export(user) -> dict:
    account = PayoutAccount.objects.filter(user=user).first()
    return {
        "account": account and {
            "bank_country": account.country.code,
            "state": account.state,
            "created_at": account.created_at,
        },
        "payouts": [
            {"order_id": payout.order_id, "amount_cents": payout.amount_cents, "currency": payout.currency,
             "status": payout.status, "due_at": payout.due_at, "transferred_at": payout.transferred_at,
             "paid_at": payout.paid_at}
            for payout in Payout.objects.filter(freelancer=user).order_by("pk")
        ],
    }

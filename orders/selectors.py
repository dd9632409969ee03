from django.db.models import Case, F, IntegerField, Prefetch, Q, QuerySet, Sum, Value, When
from django.http import Http404

from accounts.selectors import name_fields
from cadcam.staff import acting_as_staff
from orders.models import ENDED_UNPAID, NOT_YET_PAID, Order, OrderEvent, OrderFile, Pin
from payments.models import LedgerEntry

S = Order.Status

# What needs this person's action comes first in their lists.
_EMPLOYER_TURN = [S.PENDING_PAYMENT, S.DELIVERED]
_FREELANCER_TURN = [S.REQUESTED, S.ACCEPTED]
OPEN_STATES = [S.PENDING_PAYMENT, S.REQUESTED, S.ACCEPTED, S.DELIVERED, S.DISPUTED]


def orders_open_for(user) -> QuerySet[Order]:
    """Orders of this user, on either side, that are not finished yet."""
    return Order.objects.filter(Q(employer=user) | Q(freelancer=user), status__in=OPEN_STATES)


def order_for(viewer, pk: int) -> Order:
    """An order its two parties and staff may see; 404 for everyone else."""
    if not viewer.is_authenticated:
        raise Http404
    orders = Order.objects.select_related("employer__profile", "freelancer__profile", "listing")
    try:
        order = orders.get(pk=pk)
    except Order.DoesNotExist:
        raise Http404 from None
    if acting_as_staff(viewer) or viewer.pk in (order.employer_id, order.freelancer_id):
        return order
    raise Http404


def order_timeline(order: Order) -> QuerySet[OrderEvent]:
    """The order's events, oldest first, with who acted (and the profile their name comes from)
    and the numbers of the pins a revision request carried."""
    return order.events.select_related("actor__profile").prefetch_related(
        Prefetch("pins", queryset=Pin.objects.only("number", "revision_id")))


def _my_turn_first(orders: QuerySet[Order], my_turn: list[str]) -> QuerySet[Order]:
    return orders.annotate(
        my_turn=Case(When(status__in=my_turn, then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("my_turn", "-created_at")


# What a row of the dashboard's order lists shows.
_ROW_FIELDS = ("title", "status", "total_cents", "currency", "created_at")


def orders_sent_by(user, *, status: str | None = None) -> QuerySet[Order]:
    orders = (Order.objects.filter(employer=user).select_related("freelancer__profile")
              .only(*_ROW_FIELDS, *name_fields("freelancer")))
    if status:
        orders = orders.filter(status=status)
    return _my_turn_first(orders, _EMPLOYER_TURN)


def orders_received_by(user, *, status: str | None = None) -> QuerySet[Order]:
    orders = (Order.objects.filter(freelancer=user).exclude(status=S.PENDING_PAYMENT)
              .select_related("employer__profile").only(*_ROW_FIELDS, *name_fields("employer")))
    if status:
        orders = orders.filter(status=status)
    return _my_turn_first(orders, _FREELANCER_TURN)


def orders_export(user) -> list[dict]:
    """The user's orders on both sides, for their data export (the instructions are the client's words)."""
    return [
        {
            "id": order.pk,
            "role": "client" if order.employer_id == user.pk else "designer",
            "title": order.title,
            "status": order.status,
            "total_cents": order.total_cents,
            "currency": order.currency,
            "created_at": order.created_at,
            "instructions": order.instructions if order.employer_id == user.pk else "",
        }
        for order in Order.objects.filter(Q(employer=user) | Q(freelancer=user)).order_by("pk")
    ]


def order_partner_ids(user) -> QuerySet:
    """The ids of the people the user has worked with: the other party of every order the user
    sent or received whose payment was authorized (an order never paid, waiting or expired, was
    never seen by the designer). Registered as a contact source for private listings
    (listings/contacts.py)."""
    return (
        Order.objects.filter(Q(employer=user) | Q(freelancer=user), authorized_at__isnull=False)
        .annotate(other=Case(When(employer=user, then=F("freelancer")), default=F("employer")))
        .values("other")
    )


def orders_in_progress_guard(user) -> str:
    """Why the user cannot delete their account while orders run (an accounts deletion guard)."""
    if orders_open_for(user).exists():
        return "You have orders in progress. Finish, withdraw or decline them before deleting your account."
    return ""


def order_payment_step_pending(order: Order) -> bool:
    """A money step whose outcome the payment service has not confirmed yet (the order page says so)."""
    return order.money_operations.filter(state="started").exists()


def unpaid_case_files() -> QuerySet[OrderFile]:
    """Case files still stored on orders nothing was charged for: waiting for payment or for the
    designer, or ended unpaid. An order whose money was captured at some point (an acceptance
    confirmed too late, then refunded) is a paid case whatever its state: its files are kept."""
    return OrderFile.objects.filter(
        order__status__in=[*NOT_YET_PAID, *ENDED_UNPAID], deleted_at__isnull=True
    ).exclude(order__ledger__kind=LedgerEntry.Kind.CAPTURED)


def unpaid_case_files_bytes(user) -> int:
    """What the case files this user sent with cases not paid yet hold: their storage quota's
    usage (`unpaid_case_files`)."""
    return unpaid_case_files().filter(order__employer=user).aggregate(total=Sum("size"))["total"] or 0

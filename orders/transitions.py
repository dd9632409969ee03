"""The escrow state machine's table and the steps every order service shares: lock the
order, check an action is allowed (for this person, in this state, with no payment step
waiting to be confirmed), apply it with its timeline event, and e-mail the parties."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from accounts.models import User
from cadcam.emails import send_templated_email
from cadcam.errors import ApplicationError, InvalidTransition
from cadcam.staff import acting_as_staff
from orders.models import Order, OrderEvent
from payments.operations import money_operations_settled

S = Order.Status

ACCEPT_WINDOW = timedelta(days=3)
# How long after accept_by a capture whose answer was lost may still accept the order when the
# recovery job confirms it (a normal recovery takes about ten minutes); later, it is refunded.
ACCEPT_GRACE = timedelta(minutes=30)
AUTO_COMPLETE_AFTER = timedelta(days=30)
PAYOUT_CLEARING = timedelta(days=7)
UNPAID_DROPPED_AFTER = timedelta(hours=1)

EMPLOYER, FREELANCER, SYSTEM, STAFF = "employer", "freelancer", "system", "staff"

# action -> (states it may start from, state it leads to, who may do it)
TRANSITIONS: dict[str, tuple[set[str], str, str]] = {
    "authorize": ({S.PENDING_PAYMENT}, S.REQUESTED, SYSTEM),
    "accept": ({S.REQUESTED}, S.ACCEPTED, FREELANCER),
    "decline": ({S.REQUESTED}, S.DECLINED, FREELANCER),
    "withdraw": ({S.PENDING_PAYMENT, S.REQUESTED}, S.WITHDRAWN, EMPLOYER),
    "expire": ({S.PENDING_PAYMENT, S.REQUESTED}, S.EXPIRED, SYSTEM),
    "deliver": ({S.ACCEPTED}, S.DELIVERED, FREELANCER),
    "request_revision": ({S.DELIVERED}, S.ACCEPTED, EMPLOYER),
    "complete": ({S.ACCEPTED, S.DELIVERED}, S.COMPLETED, EMPLOYER),
    "auto_complete": ({S.ACCEPTED, S.DELIVERED}, S.COMPLETED, SYSTEM),
    # Disputes (disputes/services.py opens and resolves them through these).
    "dispute": ({S.ACCEPTED, S.DELIVERED}, S.DISPUTED, EMPLOYER),
    "refund": ({S.DISPUTED}, S.REFUNDED, STAFF),  # in full: nothing paid out, no fee
    "settle": ({S.DISPUTED}, S.COMPLETED, STAFF),  # partly refunded; the rest is paid out
    "resume_accepted": ({S.DISPUTED}, S.ACCEPTED, STAFF),  # dismissed: back to where it was
    "resume_delivered": ({S.DISPUTED}, S.DELIVERED, STAFF),
}
# Actions with a page of their own rather than a button on the order page.
ACTIONS_ELSEWHERE = {"dispute"}


def allowed_actions(order: Order, user: User) -> list[str]:
    """The actions this user may take on this order now (for the order page's buttons)."""
    role = EMPLOYER if user.pk == order.employer_id else FREELANCER if user.pk == order.freelancer_id else None
    actions = [
        action for action, (sources, _, actor) in TRANSITIONS.items()
        if actor == role and order.status in sources and action not in ACTIONS_ELSEWHERE
    ]
    if "request_revision" in actions and not order.revisions_left:
        actions.remove("request_revision")
    return actions


def lock_order(order: Order) -> Order:
    """The order row, locked for the rest of the transaction (the first lock of any path that
    takes several: order, then money operation, then payout, then account)."""
    return Order.objects.select_for_update(of=("self",)).select_related("employer", "freelancer").get(pk=order.pk)


def check_transition(order: Order, action: str, *, by: User | None, authorized: bool = False) -> None:
    """Refuse, with the message the person reads, unless `by` may take `action` now.
    `authorized`: who acts was checked when the step began (a money step finishing later
    must not fail because the person has since lost a role or deleted their account)."""
    sources, _, actor = TRANSITIONS[action]
    if authorized:
        actor = SYSTEM
    if actor == EMPLOYER and (by is None or by.pk != order.employer_id):
        raise ApplicationError("Only the client who sent this case can do that.")
    if actor == FREELANCER and (by is None or by.pk != order.freelancer_id):
        raise ApplicationError("Only the designer of this order can do that.")
    if actor == STAFF and (by is None or not acting_as_staff(by)):
        raise ApplicationError("Only staff can do that.")
    if order.status not in sources:
        raise InvalidTransition(f"This order is {order.get_status_display().lower()}: that is not possible now.")
    money_operations_settled(order)


def apply_transition(order: Order, action: str, *, by: User | None, note: str = "",
                     authorized: bool = False) -> Order:
    """Check and apply one transition on a locked order and record the event; the caller
    saves the order."""
    check_transition(order, action, by=by, authorized=authorized)
    target = TRANSITIONS[action][1]
    OrderEvent.objects.create(order=order, actor=by, from_status=order.status, to_status=target, note=note)
    order.status = target
    return order


def apply_transition_many(orders: Sequence[Order], action: str, *, notes: dict[int, str]) -> None:
    """apply_transition for a batch of locked orders that the system moves (the deadline sweep):
    each is checked, and gets its own event, in one INSERT; the caller writes the rows. The
    caller left out the orders with a payment step whose outcome is unknown."""
    sources, target, actor = TRANSITIONS[action]
    if actor != SYSTEM:
        raise ValueError(f"{action} is not the system's to take for many orders at once.")
    for order in orders:
        if order.status not in sources:
            raise InvalidTransition(f"Order #{order.pk} is {order.get_status_display().lower()}: that is not "
                                    "possible now.")
    OrderEvent.objects.bulk_create(OrderEvent(order=order, actor=None, from_status=order.status, to_status=target,
                                              note=notes.get(order.pk, "")) for order in orders)
    for order in orders:
        order.status = target


def notify_parties(order: Order, event: str, *, to: Sequence[str] = (EMPLOYER, FREELANCER), **context) -> None:
    recipients = {EMPLOYER: order.employer, FREELANCER: order.freelancer}
    for role in to:
        send_templated_email(
            to=recipients[role].email,
            template="order_event",
            context={"order": order, "event": event, "role": role, "recipient": recipients[role], **context},
        )

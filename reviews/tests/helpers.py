"""Orders that have ended, for review tests."""

from accounts.tests.helpers import make_user
from disputes.services import Outcome, dispute_open, dispute_resolve
from orders.models import Order
from orders.services import order_accept, order_complete, order_deliver
from orders.tests.helpers import make_order, stl_upload


def completed_order(**kwargs) -> Order:
    """An order walked to "completed" through the order services, as people do it."""
    order = make_order(**kwargs)
    order = order_accept(order=order, by=order.freelancer)
    order_deliver(order=order, by=order.freelancer, note="Done", files=[stl_upload("design.stl")])
    order = order_complete(order=order, by=order.employer)
    order.refresh_from_db()
    return order


def refunded_order(**kwargs) -> Order:
    """An order that ends refunded in full: disputed by the client, refunded by staff."""
    order = make_order(**kwargs)
    order = order_accept(order=order, by=order.freelancer)
    dispute = dispute_open(order=order, by=order.employer, reason="not_delivered",
                           description="Nothing was delivered and the designer stopped answering.")
    dispute_resolve(dispute=dispute, by=make_user(is_staff=True), outcome=Outcome.FULL_REFUND,
                    note="Nothing was delivered: refunded in full.")
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED and order.refunded_at, order.status
    return order


GOOD = "Precise margins, quick answers and the design fitted first time."

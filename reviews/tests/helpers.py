"""Orders that have ended, for review tests."""

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


GOOD = "Precise margins, quick answers and the design fitted first time."

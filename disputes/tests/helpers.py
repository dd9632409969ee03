from disputes.services import dispute_open
from orders.services import order_accept, order_deliver
from orders.tests.helpers import make_order, stl_upload

DESCRIPTION = "The crown margins are open on the distal side and the contacts are far too light."


def make_accepted(**kwargs):
    order = make_order(**kwargs)
    return order_accept(order=order, by=order.freelancer)


def make_delivered(**kwargs):
    order = make_accepted(**kwargs)
    order_deliver(order=order, by=order.freelancer, note="Designs attached", files=[stl_upload("design.stl")])
    order.refresh_from_db()
    return order


def make_disputed(**kwargs):
    """An accepted order its client disputes (quality): returns the order and the dispute."""
    order = make_accepted(**kwargs)
    dispute = dispute_open(order=order, by=order.employer, reason="quality", description=DESCRIPTION)
    order.refresh_from_db()
    return order, dispute

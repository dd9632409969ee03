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

from accounts.tests.helpers import make_user
from listings.tests.helpers import make_published
from orders.services import order_create, order_mark_authorized
from payouts.simulated import SimulatedGateway


def make_order(*, listing=None, employer=None, authorized=True, **kwargs):
    listing = listing or make_published(options=[("Express 24 h", 1500)])
    employer = employer or make_user()
    order = order_create(listing=listing, employer=employer, **kwargs)
    if authorized:
        SimulatedGateway().customer_pays(payment_id=order.payment_id, approve=True)
        order = order_mark_authorized(order=order)
    return order

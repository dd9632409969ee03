"""The Stripe events the order owns, registered with payments' webhook registry."""

from cadcam.errors import ApplicationError
from orders.models import Order
from orders.services import order_mark_authorized
from payments.webhooks import webhook_handler


@webhook_handler("payment_intent.amount_capturable_updated")
def payment_authorized(event: dict) -> str:
    """The client's card was authorized: the designer is asked (the return page may have done it already)."""
    intent_id = event["data"]["object"]["id"]
    order = Order.objects.filter(payment_id=intent_id).first()
    if order is None:
        return f"no order has {intent_id}"
    if order.status != Order.Status.PENDING_PAYMENT:
        return f"order #{order.pk} not changed: already {order.status}"
    try:
        order_mark_authorized(order=order)  # fetches the PaymentIntent anew
    except ApplicationError as error:  # e.g. an event older than the PaymentIntent's state
        return f"order #{order.pk} not changed: {error.message}"
    return f"order #{order.pk} authorized"

"""`{% order_dispute %}` on the order page: the way to open a dispute, and the dispute with
the latest messages of its three-party thread (the live thread is at /messages/<id>/)."""

from django import template

from disputes.services import dispute_may_open
from messaging.models import Conversation
from messaging.selectors import messages_of

register = template.Library()
LATEST_MESSAGES = 5


@register.inclusion_tag("disputes/_order_dispute.html", takes_context=True)
def order_dispute(context):
    request, order = context["request"], context["order"]
    dispute = order.disputes.select_related("opened_by__profile").first()
    thread = messages = None
    if dispute is not None:
        thread = Conversation.objects.filter(key=f"dispute:{dispute.pk}").first()
        messages = list(messages_of(thread).order_by("-pk")[:LATEST_MESSAGES])[::-1] if thread else []
    return {
        "request": request,
        "user": request.user,
        "order": order,
        "dispute": dispute,
        "thread": thread,
        "thread_messages": messages,
        "may_open": dispute_may_open(order, request.user),
    }

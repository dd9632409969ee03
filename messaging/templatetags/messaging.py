"""Template helpers for conversations: their title for a viewer, and the order page's thread.

`{% order_conversation %}` renders templates/messaging/_order_thread.html for the order in
the context (the order page includes templates/messaging/_order_conversation.html, which
calls it): the thread between the order's two parties, shown to them only."""

from django import template
from django.template.loader import select_template
from django.urls import reverse

from messaging.forms import MessageForm
from messaging.models import Conversation
from messaging.selectors import messages_of, read_receipt
from messaging.services import conversation_for_order, conversation_mark_read

register = template.Library()


@register.filter
def other_people(conversation: Conversation, viewer) -> str:
    return conversation.other_people(viewer)


@register.filter
def conversation_title(conversation: Conversation, viewer) -> str:
    return conversation.title_for(viewer)


@register.inclusion_tag("messaging/_order_thread.html", takes_context=True)
def order_conversation(context):
    """The order's conversation for the order page (made on first view), marked read for the viewer."""
    request, order = context["request"], context["order"]
    user = request.user
    if user.pk not in (order.employer_id, order.freelancer_id):
        return {"conversation": None}  # private to the two parties; staff use the dispute thread
    conversation = conversation_for_order(order=order)
    conversation_mark_read(conversation=conversation, user=user)
    messages = list(messages_of(conversation))
    return {
        "request": request,
        "user": user,
        "csrf_token": context.get("csrf_token"),
        "conversation": conversation,
        "thread_messages": messages,
        "last_id": messages[-1].pk if messages else 0,
        "receipt": read_receipt(conversation, user=user),
        "can_write": True,
        "form": MessageForm(),
    }


@register.simple_tag(takes_context=True)
def attachment_row(context, attachment):
    """One attachment: the 3D/inline preview row of templates/previews/_file.html when that
    template is installed, a plain download link otherwise."""
    chosen = select_template(["previews/_file.html", "messaging/_attachment_plain.html"])
    ids = [attachment.message.conversation_id, attachment.pk]
    is_construction_info = attachment.extension == "constructioninfo"
    return chosen.render(
        {
            "file_name": attachment.name,
            "file_size": attachment.size,
            "download_url": reverse("messaging:download", args=ids),
            "summary_url": reverse("messaging:attachment_summary", args=ids) if is_construction_info else "",
            "attachment": attachment,
            "user": context.get("user"),
        },
        context.get("request"),
    )

"""Template helpers for conversations: their title for a viewer, and the order page's thread.

`{% order_conversation %}` renders templates/messaging/_order_thread.html for the order in
the context (the order page includes templates/messaging/_order_conversation.html, which
calls it): the thread between the order's two parties, shown to them only.

Showing it writes nothing and opens no transaction: the conversation is made by the first
message (its form posts to `messaging:order_send` until then), and the viewer's read pointer
moves (one conditional UPDATE, no transaction) only when the thread holds messages they had
not seen: seeing them is what reading is, and the unread badge and e-mails depend on it."""

from django import template
from django.template.loader import select_template
from django.urls import reverse

from cadcam.previews import patient_copy_note, patient_safe_name
from messaging.forms import MessageForm
from messaging.models import Conversation
from messaging.selectors import last_read_by, messages_of, order_conversation_of, read_receipt
from messaging.services import conversation_mark_read

register = template.Library()


@register.filter
def other_people(conversation: Conversation, viewer) -> str:
    return conversation.other_people(viewer)


@register.filter
def conversation_title(conversation: Conversation, viewer) -> str:
    return conversation.title_for(viewer)


@register.inclusion_tag("messaging/_order_thread.html", takes_context=True)
def order_conversation(context):
    """The order's conversation for the order page, marked read for the viewer if it held
    anything new for them; before the first message, an empty thread whose form starts it."""
    request, order = context["request"], context["order"]
    user = request.user
    if user.pk not in (order.employer_id, order.freelancer_id):
        return {"shown": False}  # private to the two parties; staff use the dispute thread
    conversation = order_conversation_of(order)
    messages = list(messages_of(conversation)) if conversation else []
    if messages and (last_read_by(conversation, user) or 0) < messages[-1].pk:
        conversation_mark_read(conversation=conversation, user=user)
    return {
        "shown": True,
        "request": request,
        "user": user,
        "csrf_token": context.get("csrf_token"),
        "conversation": conversation,
        "send_url": reverse("messaging:send", args=[conversation.pk]) if conversation else reverse(
            "messaging:order_send", args=[order.pk]),
        "thread_messages": messages,
        "last_id": messages[-1].pk if messages else 0,
        "receipt": read_receipt(conversation, user=user) if conversation else "",
        "can_write": True,
        "form": MessageForm(),
    }


@register.simple_tag(takes_context=True)
def attachment_row(context, attachment):
    """One attachment: the 3D/inline preview row of templates/previews/_file.html when that
    template is installed, a plain download link otherwise. An exocad file says which copy
    the viewer downloads (the original, or one with the patient data blanked)."""
    chosen = select_template(["previews/_file.html", "messaging/_attachment_plain.html"])
    ids = [attachment.message.conversation_id, attachment.pk]
    is_construction_info = attachment.extension == "constructioninfo"
    conversation = context.get("conversation")
    request = context.get("request")
    # In support requests the only other side is staff, who get the original: nothing to say.
    copy_note = "" if getattr(conversation, "kind", None) == Conversation.Kind.SUPPORT else patient_copy_note(
        name=attachment.name, hidden=attachment.hide_patient_data, uploader_id=attachment.message.sender_id,
        viewer=getattr(request, "user", None),
    )
    shown_name = patient_safe_name(name=attachment.name, hidden=attachment.hide_patient_data,
                                   uploader_id=attachment.message.sender_id, viewer=getattr(request, "user", None))
    return chosen.render(
        {
            "file_name": shown_name,
            "file_size": attachment.size,
            "download_url": reverse("messaging:download", args=ids),
            "summary_url": reverse("messaging:attachment_summary", args=ids) if is_construction_info else "",
            "copy_note": copy_note,
            "attachment": attachment,
            "user": context.get("user"),
        },
        context.get("request"),
    )

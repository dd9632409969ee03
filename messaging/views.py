from functools import wraps

from allauth.account.models import EmailAddress
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.selectors import public_profile_for
from cadcam.construction_info import read_construction_info
from cadcam.errors import ApplicationError
from cadcam.previews import patient_data_visible, patient_safe_file_response, patient_safe_name, preview_kind
from cadcam.staff import acting_as_staff
from cadcam.uploads import form_valid_with_uploads
from listings.selectors import listing_visible_to
from messaging import selectors, services
from messaging.forms import MessageForm, PreferenceForm
from messaging.models import Conversation
from orders.selectors import order_for

K = Conversation.Kind
INBOX_PER_PAGE = 25
# Types a browser shows in a page or the 3D viewer loads; everything else always downloads.
INLINE_EXTENSIONS = {"jpg", "jpeg", "png", "webp", "pdf", "stl", "ply", "obj"}


# htmx stops polling an element when the answer has this status.
HTMX_STOP_POLLING = 286


def login_required_or_stop_polling(view):
    """login_required, except that a signed-out htmx poll is told to stop (a redirect would
    put the sign-in page inside the thread)."""
    protected = login_required(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated and request.headers.get("HX-Request"):
            return HttpResponse(status=HTMX_STOP_POLLING)
        return protected(request, *args, **kwargs)

    return wrapper


def _valid_with_files(request, form) -> bool:
    return form_valid_with_uploads(request, form, oversize_replaces_non_field_errors=True)


def _form_errors(form) -> list[str]:
    return [str(error) for errors in form.errors.values() for error in errors]


def _send_kwargs(form) -> dict:
    data = form.cleaned_data
    return {"body": data["body"], "files": data["files"], "hide_patient_data": data["hide_patient_data"]}


# --- inbox and preferences -----------------------------------------------------------------------


@login_required_or_stop_polling
@require_GET
def inbox(request):
    query = request.GET.get("q", "")[:100]
    page = Paginator(selectors.inbox_of(request.user, query=query), INBOX_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "conversations": page,
        "query": query,
        "preference_form": PreferenceForm(initial={"email_unread": selectors.wants_unread_emails(request.user)}),
    }
    if request.headers.get("HX-Request"):
        return render(request, "messaging/_inbox_poll.html", context)
    return render(request, "messaging/inbox.html", context)


@login_required
@require_POST
def preferences(request):
    form = PreferenceForm(request.POST)
    form.is_valid()  # a single optional checkbox: always valid
    services.preference_set(user=request.user, email_unread=form.cleaned_data["email_unread"])
    if form.cleaned_data["email_unread"]:
        messages.success(request, "You will get an e-mail about unread messages (at most one per conversation "
                                  "every 15 minutes).")
    else:
        messages.success(request, "You will not get e-mails about unread messages.")
    return redirect("messaging:inbox")


# --- starting a conversation -----------------------------------------------------------------------


def _compose(request, *, recipient, listing=None):
    if recipient.pk == request.user.pk:
        messages.error(request, "You cannot send a message to yourself.")
        return redirect(listing or reverse("public_profile", args=[recipient.username]))
    if not EmailAddress.objects.filter(user=request.user, verified=True).exists():
        messages.warning(request, "Verify your e-mail address before writing to other members.")
        return redirect("account_email")
    existing = selectors.existing_direct(request.user, recipient, listing=listing)
    if request.method == "GET" and existing is not None:
        return redirect(existing)
    form = MessageForm(request.POST or None, request.FILES or None, uploader=request.user)
    if request.method == "POST" and _valid_with_files(request, form):
        try:
            message = services.direct_message_send(
                sender=request.user, recipient=recipient, listing=listing, **_send_kwargs(form)
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Message sent to {recipient.display_name}.")
            return redirect(message.conversation)
    return render(request, "messaging/compose.html", {"form": form, "recipient": recipient, "listing": listing})


@login_required
@require_http_methods(["GET", "POST"])
def contact(request, pk: int):
    """"Contact" on a listing page: write to its designer about it."""
    listing = listing_visible_to(request.user, pk)
    if not listing.is_live:
        raise Http404
    return _compose(request, recipient=listing.owner, listing=listing)


@login_required
@require_http_methods(["GET", "POST"])
def write_to(request, username: str):
    """"Message" on a public profile."""
    profile = public_profile_for(username)
    return _compose(request, recipient=profile.user)


# --- a conversation ------------------------------------------------------------------------------------


def _thread_context(request, conversation: Conversation, form=None) -> dict:
    user = request.user
    thread = list(selectors.messages_of(conversation))
    participants = selectors.participants_of(conversation)
    is_participant = any(seat.user_id == user.pk for seat in participants) and (
        acting_as_staff(user) or selectors.own_seat(user, conversation))
    others = [seat.user for seat in participants if seat.user_id != user.pk]
    context = {
        "conversation": conversation,
        "thread_messages": thread,
        "last_id": thread[-1].pk if thread else 0,
        "receipt": selectors.read_receipt(conversation, user=user),
        "participants": participants,
        "can_write": (is_participant or (acting_as_staff(user) and conversation.staff_may_write))
        and not conversation.is_closed,
        "form": form or MessageForm(),
    }
    if conversation.kind == K.DIRECT and is_participant and others:
        other = others[0]
        context["other"] = other
        context["i_blocked"] = selectors.block_between(user, other)
        context["blocked_me"] = selectors.block_between(other, user)
    return context


def _show(request, conversation: Conversation, form=None):
    services.conversation_mark_read(conversation=conversation, user=request.user)
    template = "messaging/support_detail.html" if conversation.kind == K.SUPPORT else "messaging/conversation.html"
    return render(request, template, _thread_context(request, conversation, form))


@login_required
@require_GET
def conversation(request, pk: int):
    conversation = selectors.conversation_for(request.user, pk)
    if conversation.kind in (K.ORDER, K.SUPPORT):
        return redirect(conversation)
    return _show(request, conversation)


@login_required
@require_POST
def send(request, pk: int):
    conversation = selectors.conversation_for(request.user, pk)
    form = MessageForm(request.POST, request.FILES, uploader=request.user)
    if _valid_with_files(request, form):
        try:
            services.message_send(conversation=conversation, sender=request.user, **_send_kwargs(form))
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            return redirect(conversation)
    if conversation.kind == K.ORDER:  # the form lives on the order page: say what went wrong there
        for error in _form_errors(form):
            messages.error(request, error)
        return redirect(conversation)
    return _show(request, conversation, form)


@login_required
@require_POST
def order_send(request, order_pk: int):
    """The first message on an order page: starts the order's conversation, then sends as `send`
    does. (The page itself only reads: a conversation exists once something was said.)"""
    order = order_for(request.user, order_pk)
    if request.user.pk not in (order.employer_id, order.freelancer_id):
        raise Http404  # the parties' own thread; staff see the order without it
    return send(request, services.conversation_for_order(order=order).pk)


@login_required_or_stop_polling
@require_GET
def poll(request, pk: int):
    """htmx polls this every few seconds while a conversation is open: the messages after
    `after`, the read receipt, and the next poller."""
    conversation = selectors.conversation_for(request.user, pk)
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        after = 0
    new = list(selectors.messages_of(conversation, after=after))
    if new:
        services.conversation_mark_read(conversation=conversation, user=request.user)
    context = {
        "conversation": conversation,
        "new_messages": new,
        "last_id": new[-1].pk if new else after,
        "receipt": selectors.read_receipt(conversation, user=request.user),
        "user": request.user,
    }
    return render(request, "messaging/_poll.html", context)


@login_required
@require_GET
def download(request, pk: int, file_id: int):
    """An attachment, for whoever may read the conversation (404 for anyone else).
    `?inline=1` shows images, PDF and meshes in the browser instead of downloading them. An
    exocad file whose sender hid the patient data reaches the others with it blanked."""
    attachment = selectors.attachment_for(request.user, pk, file_id)
    inline = request.GET.get("inline") == "1" and attachment.extension in INLINE_EXTENSIONS
    return patient_safe_file_response(
        request, attachment.file, filename=attachment.name, hidden=attachment.hide_patient_data,
        uploader_id=attachment.message.sender_id, as_attachment=not inline,
        # The conversation view sends order and support threads on to their own pages.
        back_url=reverse("messaging:conversation", args=[attachment.message.conversation_id]),
    )


@login_required
@require_GET
def attachment_summary(request, pk: int, file_id: int):
    """The parsed summary of an exocad .constructionInfo attachment (a fragment for htmx, a
    page otherwise), visible like the file; patient fields only as the sender allowed."""
    attachment = selectors.attachment_for(request.user, pk, file_id)
    if preview_kind(attachment.name) != "construction_info":
        raise Http404
    summary = read_construction_info(attachment.file)
    show_patient = patient_data_visible(
        hidden=attachment.hide_patient_data, uploader_id=attachment.message.sender_id, viewer=request.user
    )
    context = {
        "summary": summary if show_patient else summary.without_patient_data(),
        "patient_data_withheld": summary.has_patient_data and not show_patient,
        "file_name": patient_safe_name(name=attachment.name, hidden=attachment.hide_patient_data,
                                       uploader_id=attachment.message.sender_id, viewer=request.user),
        "back_url": attachment.message.conversation.get_absolute_url(),
    }
    if request.headers.get("HX-Request"):
        return render(request, "previews/_construction_info.html", context)
    return render(request, "previews/construction_info.html", context)


@login_required
@require_POST
def block(request, pk: int):
    conversation = selectors.conversation_for(request.user, pk)
    other = _other_in_direct(request, conversation)
    try:
        services.user_block(blocker=request.user, blocked=other)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"You blocked {other.display_name}. They cannot write to you any more.")
    return redirect(conversation)


@login_required
@require_POST
def unblock(request, pk: int):
    conversation = selectors.conversation_for(request.user, pk)
    other = _other_in_direct(request, conversation)
    services.user_unblock(blocker=request.user, blocked=other)
    messages.success(request, f"You unblocked {other.display_name}.")
    return redirect(conversation)


def _other_in_direct(request, conversation: Conversation):
    if conversation.kind != K.DIRECT:
        raise Http404  # blocking is for direct conversations only
    other = conversation.participants.exclude(user=request.user).select_related("user__profile").first()
    if other is None or not conversation.participants.filter(user=request.user).exists():
        raise Http404
    return other.user

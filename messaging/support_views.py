"""Support chat: `/support/` for every signed-in user, `/support/staff/` for the team."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cadcam.errors import ApplicationError
from cadcam.staff import staff_page
from messaging import selectors, services
from messaging.forms import MessageForm
from messaging.models import Conversation
from messaging.views import _send_kwargs, _show, _valid_with_files

K = Conversation.Kind
STAFF_INBOX_PER_PAGE = 50
REQUESTS_PER_PAGE = 20


@login_required
@require_http_methods(["GET", "POST"])
def support_home(request):
    """The user's support requests; a form to open one when none is open."""
    open_request = selectors.open_support_request_of(request.user)
    form = MessageForm(request.POST or None, request.FILES or None, uploader=request.user)
    if request.method == "POST" and _valid_with_files(request, form):
        try:
            message = services.support_request_open(user=request.user, **_send_kwargs(form))
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Your request is with the support team. You can follow it here.")
            return redirect(message.conversation)
    requests = Paginator(selectors.support_requests_of(request.user), REQUESTS_PER_PAGE)
    requests = requests.get_page(request.GET.get("page"))
    context = {"requests": requests, "open_request": open_request, "form": form}
    return render(request, "messaging/support_home.html", context)


def _support_conversation(request, pk: int) -> Conversation:
    conversation = selectors.conversation_for(request.user, pk)
    if conversation.kind != K.SUPPORT:
        raise Http404
    return conversation


@login_required
@require_GET
def support_detail(request, pk: int):
    return _show(request, _support_conversation(request, pk))


@login_required
@require_GET
@staff_page
def staff_inbox(request):
    show = request.GET.get("show", "open")
    if show not in selectors.STAFF_FILTERS:
        show = "open"
    conversations = selectors.support_inbox(request.user, show=show)
    context = {
        "conversations": Paginator(conversations, STAFF_INBOX_PER_PAGE).get_page(request.GET.get("page")),
        "show": show,
        "filters": [(key, label) for key, (label, _) in selectors.STAFF_FILTERS.items()],
    }
    return render(request, "messaging/staff_inbox.html", context)


STAFF_ACTIONS = {
    "assign": (services.support_assign, "The request is assigned to you."),
    "close": (services.support_close, "The request is closed."),
    "reopen": (services.support_reopen, "The request is open again."),
}


@login_required
@require_POST
@staff_page
def staff_act(request, pk: int, action: str):
    if action not in STAFF_ACTIONS:
        raise Http404
    conversation = _support_conversation(request, pk)
    run, success = STAFF_ACTIONS[action]
    try:
        run(conversation=conversation, by=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect(conversation)

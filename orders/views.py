from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cadcam.construction_info import read_construction_info
from cadcam.errors import ApplicationError
from cadcam.files import CASE_FILE_ACCEPT
from cadcam.previews import patient_data_visible, patient_safe_file_response, patient_safe_name, preview_kind
from cadcam.uploads import form_valid_with_uploads
from listings.selectors import listing_visible_to
from orders.forms import DeclineForm, DeliveryForm, RevisionForm, SendCaseForm
from orders.models import ENDED_UNPAID, Order, OrderFile
from orders.pin_selectors import with_pin_counts
from orders.selectors import order_for, order_payment_step_pending, order_timeline
from orders.services import (
    order_accept,
    order_complete,
    order_create,
    order_decline,
    order_deliver,
    order_mark_authorized,
    order_pay_with_test_card,
    order_payment_set_up,
    order_payment_taken_early,
    order_request_revision,
    order_withdraw,
)
from orders.transitions import allowed_actions
from payments.backends import get_gateway
from payments.fees import platform_fee_cents
from payments.gateway import PaymentStatus
from payments.operations import PaymentStepPending
from payments.stripe_gateway import browser_csp_sources


@login_required
@require_http_methods(["GET", "POST"])
def send_case(request, pk: int):
    listing = listing_visible_to(request.user, pk)
    if not listing.is_live:
        raise Http404
    if listing.owner_id == request.user.pk:
        messages.error(request, "You cannot order your own service.")
        return redirect(listing)
    if not EmailAddress.objects.filter(user=request.user, verified=True).exists():
        messages.warning(request, "Verify your e-mail address before sending a case.")
        return redirect("account_email")
    form = SendCaseForm(request.POST or None, request.FILES or None, listing=listing, uploader=request.user)
    if form_valid_with_uploads(request, form):
        try:
            order = order_create(
                listing=listing, employer=request.user, quantity=form.cleaned_data["quantity"],
                option_ids=[option.pk for option in form.cleaned_data["options"]],
                due_date=form.cleaned_data["due_date"], instructions=form.cleaned_data["instructions"],
                files=form.cleaned_data["files"], hide_patient_data=form.cleaned_data["hide_patient_data"],
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            return redirect("orders:pay", order.pk)
    context = {"form": form, "listing": listing, "example_fee_cents": platform_fee_cents(listing.price_cents)}
    return render(request, "orders/send_case.html", context)


@never_cache  # the page carries the payment's client secret; Back must not show a live form
@login_required
@require_http_methods(["GET", "POST"])
def pay(request, pk: int):
    """The review and payment step. With Stripe: the PaymentIntent is asked first, so a card
    already authorized (the return from Stripe never reached us, another tab paid) moves the
    order on instead of offering the form again; then Stripe's Payment Element, with Stripe's
    addresses allowed in this page's CSP only. With the simulated gateway: a test-mode page
    with "approve" and "decline". When the payment cannot be set up (the payment service does
    not answer, or a step is still being confirmed), the page says so and offers to try
    again; nothing is charged."""
    order = order_for(request.user, pk)
    if order.employer_id != request.user.pk:
        raise Http404
    if order.status != Order.Status.PENDING_PAYMENT:
        return _already_paid(request, order)
    gateway = get_gateway()
    try:
        if order_payment_step_pending(order):  # a withdrawal or the set-up itself is being confirmed
            raise PaymentStepPending()
        if not order.payment_id:
            order = order_payment_set_up(order=order, by=request.user)
        if gateway.name == "stripe":
            payment = gateway.retrieve(order.payment_id)
            if payment.status in (PaymentStatus.REQUIRES_CAPTURE, PaymentStatus.PROCESSING):
                return _card_confirmed(request, order, payment)
            if payment.status == PaymentStatus.CANCELED:
                raise ApplicationError("This payment was cancelled at the payment service. The case expires by "
                                       "itself; send it again to pay.")
            if payment.status == PaymentStatus.SUCCEEDED:  # taken at Stripe outside the normal steps
                order_payment_taken_early(order=order, payment_id=payment.id)
                raise ApplicationError("This payment was already taken at the payment service. Our team has been "
                                       "told and will write to you; do not pay again.")
            context = {
                "order": order,
                "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
                "client_secret": payment.client_secret,
                "return_url": request.build_absolute_uri(reverse("orders:pay_return", args=[order.pk])),
                "check_url": reverse("orders:pay_check", args=[order.pk]),
                "stripe_js": settings.STRIPE_JS_URL,
            }
            response = render(request, "orders/pay_stripe.html", context)
            response._csp_update = browser_csp_sources()
            return response
    except ApplicationError as error:
        return render(request, "orders/pay_unavailable.html", {"order": order, "problem": error.message})
    if request.method == "POST":
        try:
            order_pay_with_test_card(order=order, by=request.user, approve=request.POST.get("outcome") == "approve")
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, AUTHORIZED)
            return redirect("orders:detail", order.pk)
    return render(request, "orders/pay.html", {"order": order})


AUTHORIZED = "Your card is authorized. The designer has 3 days to accept; you pay only then."
ALREADY_AUTHORIZED = "Your card is already authorized for this case: there is nothing more to pay now."


def _already_paid(request, order: Order):
    if order.status in (Order.Status.REQUESTED, Order.Status.ACCEPTED, Order.Status.DELIVERED):
        messages.info(request, ALREADY_AUTHORIZED)
    return redirect("orders:detail", order.pk)


def _card_confirmed(request, order: Order, payment, *, message: str = ALREADY_AUTHORIZED):
    """The card was confirmed at Stripe (this tab or another): move the order on, the same
    way the return page and the webhook do."""
    if payment.status == PaymentStatus.PROCESSING:
        messages.info(request, "Your bank is still processing the card payment. This page shows it as soon as it "
                               "is authorized; there is nothing more to do.")
        return redirect("orders:detail", order.pk)
    order_mark_authorized(order=order)
    messages.success(request, message)
    return redirect("orders:detail", order.pk)


@login_required
@require_GET
def pay_check(request, pk: int):
    """Asked by the card form when Stripe refuses to confirm: was this order paid meanwhile
    (in another tab), or did it close (expired, withdrawn)? Marks it authorized if the card
    is, and answers what to tell the client."""
    order = order_for(request.user, pk)
    if order.employer_id != request.user.pk:
        raise Http404
    if order.status == Order.Status.PENDING_PAYMENT and order.payment_id:
        try:
            if get_gateway().retrieve(order.payment_id).status == PaymentStatus.REQUIRES_CAPTURE:
                order = order_mark_authorized(order=order)
        except ApplicationError:
            pass  # the payment service did not answer: the client reads Stripe's own message
    closed = order.status in ENDED_UNPAID
    paid = order.status not in (Order.Status.PENDING_PAYMENT, *ENDED_UNPAID)
    message = f"This case is {order.get_status_display().lower()}: nothing was charged." if closed else ""
    response = JsonResponse({"paid": paid, "closed": closed, "message": message,
                             "url": reverse("orders:detail", args=[order.pk])})
    add_never_cache_headers(response)
    return response


@login_required
def detail(request, pk: int):
    order = order_for(request.user, pk)
    actions = allowed_actions(order, request.user)
    deliveries = list(order.deliveries.prefetch_related("files__delivery"))
    case_files = list(order.files.filter(delivery__isnull=True))
    with_pin_counts(order, [*case_files, *(file for delivery in deliveries for file in delivery.files.all())])
    context = {
        "order": order,
        "is_freelancer": order.freelancer_id == request.user.pk,
        "is_employer": order.employer_id == request.user.pk,
        "actions": actions,
        "payment_step_pending": order_payment_step_pending(order),
        "events": order_timeline(order),
        "deliveries": deliveries,
        "case_files": case_files,
        "delivery_form": DeliveryForm(),
        "revision_form": RevisionForm(order=order) if "request_revision" in actions else None,
        "decline_form": DeclineForm(),
        "file_accept": CASE_FILE_ACCEPT,
    }
    return render(request, "orders/detail.html", context)


def _deliver(order, user, data):
    return order_deliver(order=order, by=user, note=data["note"], files=data["files"],
                         hide_patient_data=data["hide_patient_data"])


ACTIONS = {
    "accept": (None, lambda order, user, data: order_accept(order=order, by=user), "You accepted the case."),
    "decline": (DeclineForm, lambda order, user, data: order_decline(order=order, by=user, reason=data["reason"]),
                "You declined the case. Nothing was charged to the client."),
    "withdraw": (None, lambda order, user, data: order_withdraw(order=order, by=user),
                 "You withdrew the case. Nothing was charged."),
    "deliver": (DeliveryForm, _deliver, "Delivered. The client was told."),
    "request_revision": (RevisionForm, lambda order, user, data: order_request_revision(
        order=order, by=user, message=data["message"], pins=data["pins"]),
        "Revision requested. The designer was told."),
    "complete": (None, lambda order, user, data: order_complete(order=order, by=user),
                 "The order is complete. Thank you!"),
}


@login_required
@require_POST
def act(request, pk: int, action: str):
    order = order_for(request.user, pk)
    if action not in ACTIONS:
        raise Http404
    form_class, run, success = ACTIONS[action]
    extra = {"order": order} if getattr(form_class, "takes_order", False) else {}
    form = form_class(request.POST, request.FILES, uploader=request.user, **extra) if form_class else None
    if form is not None and not form_valid_with_uploads(request, form):
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("orders:detail", order.pk)
    try:
        run(order, request.user, form.cleaned_data if form else {})
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect("orders:detail", order.pk)


@login_required
def download(request, pk: int, file_id: int):
    """A case or delivery file, for the order's parties and staff only (404 otherwise).
    `?inline=1` serves it for a preview (see cadcam.files.private_file_response). An exocad
    file whose sender hid the patient data reaches the other party with it blanked."""
    order = order_for(request.user, pk)
    stored = get_object_or_404(order.files.filter(deleted_at__isnull=True), pk=file_id)
    return patient_safe_file_response(
        request, stored.file, filename=stored.name, hidden=stored.hide_patient_data,
        uploader_id=stored.uploaded_by_id, as_attachment=request.GET.get("inline") != "1",
        back_url=reverse("orders:detail", args=[order.pk]),
    )


@login_required
@require_GET
def file_summary(request, pk: int, file_id: int):
    """The parsed summary of an exocad .constructionInfo file: a fragment for htmx, a page
    otherwise. Same visibility as the download; patient fields as the uploader chose."""
    order = order_for(request.user, pk)
    stored: OrderFile = get_object_or_404(order.files.filter(deleted_at__isnull=True), pk=file_id)
    if preview_kind(stored.name) != "construction_info":
        raise Http404
    summary = read_construction_info(stored.file)
    show_patient = patient_data_visible(
        hidden=stored.hide_patient_data, uploader_id=stored.uploaded_by_id, viewer=request.user
    )
    context = {
        "summary": summary if show_patient else summary.without_patient_data(),
        "patient_data_withheld": summary.has_patient_data and not show_patient,
        "file_name": patient_safe_name(name=stored.name, hidden=stored.hide_patient_data,
                                       uploader_id=stored.uploaded_by_id, viewer=request.user),
        "back_url": reverse("orders:detail", args=[order.pk]),
    }
    if request.headers.get("HX-Request"):
        return render(request, "previews/_construction_info.html", context)
    return render(request, "previews/construction_info.html", context)


@never_cache
@login_required
def pay_return(request, pk: int):
    """Where Stripe sends the browser after the Payment Element: the order moves on if the
    card was authorized (the webhook may have done it already; that is fine)."""
    order = order_for(request.user, pk)
    if order.employer_id != request.user.pk:
        raise Http404
    if order.status != Order.Status.PENDING_PAYMENT:
        return _already_paid(request, order)
    try:
        payment = get_gateway().retrieve(order.payment_id) if order.payment_id else None
    except ApplicationError:
        messages.info(request, "Your payment is being checked with the payment service. This page shows it as soon "
                               "as it is confirmed; do not pay again.")
        return redirect("orders:detail", order.pk)
    if payment is not None and payment.status in (PaymentStatus.REQUIRES_CAPTURE, PaymentStatus.PROCESSING):
        return _card_confirmed(request, order, payment, message=AUTHORIZED)
    messages.error(request, "The payment was not completed. Please try again.")
    return redirect("orders:pay", order.pk)

"""The design review pages: a 3D file of the order with its pins (review), and two of the
order's 3D files together (compare). Both answer 404 to anyone who may not see the files;
the pins come and go through htmx fragments of the review page, or plain posts without it."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cadcam.errors import ApplicationError
from cadcam.files import extension_of
from cadcam.previews import inline_url, preview_kind
from orders.forms import PinForm, PinResolveForm
from orders.models import Order, OrderFile
from orders.pin_selectors import mesh_files, pin_on_file, pins_on_file
from orders.pin_services import pin_create, pin_delete, pin_resolve, pins_writable
from orders.selectors import order_for


def _mesh_file(order: Order, file_id: int) -> OrderFile:
    stored = get_object_or_404(order.files.filter(deleted_at__isnull=True).select_related("delivery"), pk=file_id)
    if preview_kind(stored.name) != "mesh":
        raise Http404
    return stored


def file_label(stored: OrderFile) -> str:
    """"Case file", "Delivery", "Revision 1", ...: where the file came from."""
    if stored.delivery_id is None:
        return "Case file"
    return "Delivery" if stored.delivery.number == 1 else f"Revision {stored.delivery.number - 1}"


def _mesh_data(order: Order, stored: OrderFile) -> dict:
    return {
        "file": stored,
        "label": file_label(stored),
        "url": inline_url(reverse("orders:download", args=[order.pk, stored.pk])),
        "format": extension_of(stored.name),
    }


def _pins_context(request, order: Order, stored: OrderFile, *, form: PinForm | None = None,
                  resolve_form: PinResolveForm | None = None, resolving: int | None = None,
                  problem: str = "") -> dict:
    can_pin = pins_writable(order, request.user)
    return {
        "order": order,
        "mesh": _mesh_data(order, stored),
        "pins": pins_on_file(stored),
        "can_pin": can_pin,
        "pin_form": (form or PinForm()) if can_pin else None,
        "resolve_form": resolve_form,
        "resolving": resolving,
        "problem": problem,
    }


def _pins_response(request, order: Order, stored: OrderFile, **context):
    """The pins fragment for htmx; otherwise the page with the errors (`context`), or a
    redirect to it when nothing failed."""
    if request.headers.get("HX-Request"):
        return render(request, "orders/_pins.html", _pins_context(request, order, stored, **context))
    if context:
        return render(request, "orders/review.html", _review_context(request, order, stored, **context))
    return redirect("orders:review", order.pk, stored.pk)


def _review_context(request, order: Order, stored: OrderFile, **pins) -> dict:
    files = mesh_files(order)
    before = [other for other in files if other.delivery_id and stored.delivery_id
              and other.delivery.number == stored.delivery.number - 1]
    return {
        **_pins_context(request, order, stored, **pins),
        "max_triangles": settings.PREVIEW_MAX_TRIANGLES,
        "compare_with": (before or [other for other in files if other.delivery_id is None and stored.delivery_id])[:1],
    }


@login_required
@require_GET
def review(request, pk: int, file_id: int):
    order = order_for(request.user, pk)
    stored = _mesh_file(order, file_id)
    return render(request, "orders/review.html", _review_context(request, order, stored))


@login_required
@require_POST
def pin_add(request, pk: int, file_id: int):
    order = order_for(request.user, pk)
    stored = _mesh_file(order, file_id)
    form = PinForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            pin_create(file=stored, by=request.user, text=data["text"], point=data["point"], normal=data["normal"],
                       camera=data["camera"], end=data["end"])
        except ApplicationError as error:
            if not pins_writable(order, request.user):  # no form on their page: say it above the list
                return _pins_response(request, order, stored, problem=error.message)
            form.add_error(None, error.message)
    if form.errors:
        return _pins_response(request, order, stored, form=form)
    return _pins_response(request, order, stored)


@login_required
@require_POST
def pin_resolve_view(request, pk: int, file_id: int, number: int):
    order = order_for(request.user, pk)
    stored = _mesh_file(order, file_id)
    pin = pin_on_file(stored, number)
    form = PinResolveForm(request.POST)
    if form.is_valid():
        try:
            pin_resolve(pin=pin, by=request.user, reply=form.cleaned_data["reply"])
        except ApplicationError as error:
            # Said above the list: the pin's own form is not there for those who may not write
            # (staff, an order that ended) nor for a pin resolved or removed meanwhile.
            return _pins_response(request, order, stored, problem=error.message)
    if form.errors:
        return _pins_response(request, order, stored, resolve_form=form, resolving=number)
    return _pins_response(request, order, stored)


@login_required
@require_POST
def pin_delete_view(request, pk: int, file_id: int, number: int):
    order = order_for(request.user, pk)
    stored = _mesh_file(order, file_id)
    pin = pin_on_file(stored, number)
    try:
        pin_delete(pin=pin, by=request.user)
    except ApplicationError as error:
        return _pins_response(request, order, stored, problem=error.message)
    return _pins_response(request, order, stored)


def _pair(files: list[OrderFile], request) -> tuple[OrderFile, OrderFile]:
    """The two files to compare: `a` and `b` by id, or the files of `delivery` N and the one
    before it (the first 3D file of each, preferring the same extension), or the last two."""
    by_id = {str(file.pk): file for file in files}
    a, b = by_id.get(request.GET.get("a", "")), by_id.get(request.GET.get("b", ""))
    if (request.GET.get("a") and a is None) or (request.GET.get("b") and b is None):
        raise Http404  # not a 3D file of this order
    if a and b:
        return a, b
    number = request.GET.get("delivery", "")
    delivered = [file for file in files if file.delivery_id]
    # ASCII digits only ("²" is a digit to isdigit() but not to int()), and few of them.
    if b is None and number.isascii() and number.isdigit() and len(number) <= 5:
        b = next((file for file in delivered if file.delivery.number == int(number)), None)
    if b is None:
        b = delivered[-1] if delivered else files[-1]
    if a is None:
        earlier = [file for file in files if file.pk != b.pk and (
            file.delivery_id is None or not b.delivery_id or file.delivery.number < b.delivery.number)]
        if b.delivery_id:
            before = [file for file in earlier if file.delivery_id and file.delivery.number == b.delivery.number - 1]
            earlier = before or earlier
        same = [file for file in earlier if extension_of(file.name) == extension_of(b.name)]
        a = (same or earlier or [file for file in files if file.pk != b.pk] or [b])[-1]
    return a, b


@login_required
@require_GET
def compare(request, pk: int):
    order = order_for(request.user, pk)
    files = mesh_files(order)
    if len(files) < 2:
        raise Http404
    a, b = _pair(files, request)
    return render(request, "orders/compare.html", {
        "order": order,
        "files": [(file, file_label(file)) for file in files],
        "sides": [("a", _mesh_data(order, a), "blue"), ("b", _mesh_data(order, b), "orange")],
        "max_triangles": settings.PREVIEW_MAX_TRIANGLES,
    })

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
    return stored.delivery.label if stored.delivery_id else "Case file"


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
    return {
        **_pins_context(request, order, stored, **pins),
        "max_triangles": settings.PREVIEW_MAX_TRIANGLES,
        "can_compare": len(mesh_files(order)) > 1,
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
    """The two files to compare (`files` in order: case files, then by delivery): `a` and `b`
    by id; by default `b` is the last 3D file of delivery `delivery` (else of the last
    delivery) and `a` the last 3D file before it: the delivery before, or the case scan."""
    by_id = {str(file.pk): file for file in files}

    def given(key: str) -> OrderFile | None:
        value = request.GET.get(key)
        if value and value not in by_id:
            raise Http404  # not a 3D file of this order
        return by_id.get(value)

    def step(file: OrderFile) -> int:
        return file.delivery.number if file.delivery_id else 0

    a, b = given("a"), given("b")
    if b is None:
        delivered = [file for file in files if file.delivery_id]
        wanted = [file for file in delivered if str(step(file)) == request.GET.get("delivery")]
        b = (wanted or delivered or files)[-1]
    if a is None:
        others = [file for file in files if file.pk != b.pk]
        a = ([file for file in others if step(file) < step(b)] or others)[-1]
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

"""Design review on the model: pinned comments and measurements on the order's 3D files.

A party clicks a point of a delivered STL, PLY or OBJ file (or of a case scan) and writes what
is wrong there; the pin keeps the point and its surface normal in the file's own coordinates
and the camera at the time, so anyone can fly back to the same view. A revision request
carries the open pins of the delivery it answers; the designer's next delivery shows them, and
either party marks each resolved with a reply.

Every write locks the order row first (the same lock as the order's transitions), so numbers
are given once and a pin cannot be resolved twice or sent with two requests."""

import math
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from cadcam.errors import ApplicationError
from cadcam.previews import preview_kind
from orders.models import Order, OrderEvent, OrderFile, Pin
from orders.pin_selectors import pins_sendable_with_revision
from orders.transitions import lock_order

S = Order.Status

# Pins are written while the work is open: from the case reaching the designer until the
# order ends. After that they stay readable, like the files.
PIN_STATES = (S.REQUESTED, S.ACCEPTED, S.DELIVERED, S.DISPUTED)

# A dental part fits in a few centimetres; a point a hundred metres out is not a click on it.
MAX_COORDINATE = 100_000.0
# Two points of a measurement closer than this show as "0.00 mm": the same point clicked twice.
MIN_MEASUREMENT = 0.005
# Pins one file takes: more than any review needs, and a bound on what one party can make the
# other's review page, order page, revision form and e-mail carry.
MAX_PINS_PER_FILE = 200
TEXT_LIMIT = 2000


def _vector(value: Sequence, *, what: str) -> list[float]:
    """Three numbers (a list or tuple of ints or floats: not strings, booleans or a mapping,
    which the camera's JSON could hold), finite and within MAX_COORDINATE."""
    numbers = []
    if isinstance(value, list | tuple) and all(
            isinstance(n, int | float) and not isinstance(n, bool) for n in value):
        try:
            numbers = [float(number) for number in value]
        except OverflowError:  # an integer too large for a float
            numbers = []
    if len(numbers) != 3 or not all(math.isfinite(n) and abs(n) <= MAX_COORDINATE for n in numbers):
        raise ApplicationError(f"The {what} of the pin was not understood. Click the model again.")
    return numbers


def _unit(value: Sequence, *, what: str) -> list[float]:
    numbers = _vector(value, what=what)
    length = math.sqrt(sum(n * n for n in numbers))
    if length < 1e-9:
        raise ApplicationError(f"The {what} of the pin was not understood. Click the model again.")
    return [n / length for n in numbers]


def _camera(value) -> dict:
    if not isinstance(value, dict):
        raise ApplicationError("The view of the pin was not understood. Click the model again.")
    camera = {
        "position": _vector(value.get("position"), what="view"),
        "target": _vector(value.get("target"), what="view"),
        "up": _unit(value.get("up") or (0, 0, 1), what="view"),
    }
    if camera["position"] == camera["target"]:
        raise ApplicationError("The view of the pin was not understood. Click the model again.")
    return camera


def pins_writable(order: Order, user) -> bool:
    """Whether `user` may add, resolve and remove pins on this order now (the pages show the
    forms only then; the services below refuse with a sentence otherwise)."""
    return order.status in PIN_STATES and user.pk in (order.employer_id, order.freelancer_id)


def _check_party(order: Order, by: User) -> None:
    if by.pk not in (order.employer_id, order.freelancer_id):
        raise ApplicationError("Only the client and the designer of this order can pin comments.")


def _check_open(order: Order) -> None:
    if order.status not in PIN_STATES:
        raise ApplicationError(f"This order is {order.get_status_display().lower()}: its pins can be read, not "
                               "changed.")


def _text(value: str, *, required: str = "") -> str:
    text = (value or "").strip()
    if required and not text:
        raise ApplicationError(required)
    if len(text) > TEXT_LIMIT:
        raise ApplicationError(f"Keep it under {TEXT_LIMIT} characters ({len(text)} now).")
    return text


@transaction.atomic
def pin_create(*, file: OrderFile, by: User, text: str, point: Sequence, normal: Sequence, camera: dict,
               end: Sequence | None = None) -> Pin:
    """Pin a comment to `point` of `file` (a 3D file of the order, not deleted); with `end`, a
    measurement from `point` to `end` whose text is optional."""
    order = lock_order(file.order)
    _check_party(order, by)
    _check_open(order)
    file = OrderFile.objects.get(pk=file.pk)
    if file.order_id != order.pk or file.deleted_at is not None or preview_kind(file.name) != "mesh":
        raise ApplicationError("Pins go on the order's STL, PLY and OBJ files.")
    if file.pins.count() >= MAX_PINS_PER_FILE:
        raise ApplicationError(f"This file has {MAX_PINS_PER_FILE} pins, as many as one file takes. Write the rest "
                               "in the order's messages.")
    kind = Pin.Kind.COMMENT if end is None else Pin.Kind.MEASUREMENT
    point = _vector(point, what="position")
    if end is not None:
        end = _vector(end, what="second point")
        if math.dist(point, end) < MIN_MEASUREMENT:
            raise ApplicationError("Pick two different points to measure between them.")
    pin = Pin(
        order=order, file=file, author=by, kind=kind,
        text=_text(text, required="" if end is not None else "Write what the pin is about."),
        point=point, normal=_unit(normal, what="direction"), end=end, camera=_camera(camera),
        number=order.pins_numbered + 1,
        revision=_revision_in_progress(order, file) if by.pk == order.employer_id else None,
    )
    pin.save()
    order.pins_numbered = pin.number
    order.save(update_fields=["pins_numbered"])
    return pin


def _revision_in_progress(order: Order, file: OrderFile) -> OrderEvent | None:
    """A pin the client places on the latest delivery while the designer works on the revision
    they asked for goes with that request (so the next delivery shows it too); None otherwise."""
    if order.status != S.ACCEPTED or file.delivery_id is None:
        return None
    latest = order.deliveries.order_by("-number").first()
    if latest is None or latest.pk != file.delivery_id:
        return None
    requests = order.events.filter(from_status=S.DELIVERED, to_status=S.ACCEPTED, created_at__gte=latest.created_at)
    return requests.order_by("-pk").first()


def _still_there(pin: Pin) -> Pin:
    """The pin as stored now, under the order's lock: another request (a removal, a double
    click) may have removed it since this one loaded it."""
    current = Pin.objects.filter(pk=pin.pk).first()
    if current is None:
        raise ApplicationError(f"Pin {pin.number} was removed meanwhile.")
    return current


@transaction.atomic
def pin_resolve(*, pin: Pin, by: User, reply: str) -> Pin:
    """Mark a pin resolved, with a reply saying what was done ("margin closed in revision 1")."""
    order = lock_order(pin.order)
    _check_party(order, by)
    _check_open(order)
    pin = _still_there(pin)
    if pin.is_resolved:
        raise ApplicationError(f"Pin {pin.number} is already resolved.")
    pin.reply = _text(reply, required="Write a reply saying what was done about it.")
    pin.resolved_at = timezone.now()
    pin.resolved_by = by
    pin.save(update_fields=["reply", "resolved_at", "resolved_by"])
    return pin


@transaction.atomic
def pin_delete(*, pin: Pin, by: User) -> None:
    """Take back one's own pin, while nobody has acted on it (not resolved, not sent with a
    revision request)."""
    order = lock_order(pin.order)
    _check_open(order)
    pin = _still_there(pin)
    if pin.author_id != by.pk:
        raise ApplicationError("Only the person who placed a pin can remove it.")
    if pin.is_resolved or pin.revision_id is not None:
        raise ApplicationError(f"Pin {pin.number} was already answered or sent with a revision request, so it "
                               "stays. Resolve it instead.")
    pin.delete()


def pins_attach_to_revision(*, order: Order, event: OrderEvent, pins: Sequence[Pin]) -> list[Pin]:
    """Send these pins with the revision request `event`, inside order_request_revision (the
    order is locked). Only open pins on the files of the latest delivery can go."""
    if not pins:
        return []
    wanted = {pin.pk for pin in pins}
    sendable = {pin.pk for pin in pins_sendable_with_revision(order)}
    if not wanted <= sendable:
        raise ApplicationError("Some of the pins chosen were resolved, removed or already sent meanwhile. Choose "
                               "them again.")
    Pin.objects.filter(pk__in=wanted).update(revision=event)
    return list(Pin.objects.filter(pk__in=wanted))

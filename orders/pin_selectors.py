"""Reads for the design review (orders/pin_services.py writes): which pins a 3D file's page
shows, which can go with a revision request, and the counts the order page shows."""

from dataclasses import dataclass

from django.db.models import F, Q, QuerySet
from django.http import Http404

from cadcam.previews import preview_kind
from orders.models import Order, OrderFile, Pin


def _with_people(pins: QuerySet[Pin]) -> QuerySet[Pin]:
    return pins.select_related("author__profile", "resolved_by__profile", "file__delivery")


def _carried_to(file: OrderFile) -> Q:
    """The pins a delivery's file inherits: those sent with the revision request that this
    delivery answers, that is, placed on the previous delivery's files and sent with a request."""
    if file.delivery_id is None:
        return Q(pk__in=[])
    return Q(order_id=file.order_id, file__delivery__number=file.delivery.number - 1, revision__isnull=False)


def pins_on_file(file: OrderFile) -> list[Pin]:
    """The pins a 3D file's review page shows: its own, then those carried from the previous
    delivery by the revision request this file's delivery answers (each with `carried` set;
    their coordinates are in the same space, as CAD exports of one case are)."""
    pins = list(_with_people(Pin.objects.filter(Q(file=file) | _carried_to(file))).order_by("number"))
    for pin in pins:
        pin.carried = pin.file_id != file.pk
    return pins


def pin_on_file(file: OrderFile, number: int) -> Pin:
    """One pin shown on this file's page (its own or carried), by its number; 404 otherwise."""
    pin = Pin.objects.filter(Q(file=file) | _carried_to(file), number=number).select_related("order").first()
    if pin is None:
        raise Http404
    return pin


def pins_sendable_with_revision(order: Order) -> QuerySet[Pin]:
    """Open pins on the 3D files of the order's latest delivery, not yet sent with a request:
    what the client may send with a revision request now."""
    latest = order.deliveries.order_by("-number").values("pk")[:1]
    return (Pin.objects.filter(order=order, file__delivery__in=latest, revision__isnull=True,
                               resolved_at__isnull=True)
            .select_related("file").order_by("number"))


@dataclass(frozen=True)
class PinCount:
    total: int = 0
    open: int = 0


def with_pin_counts(order: Order, files: list[OrderFile]) -> list[OrderFile]:
    """Set `pin_count` (a PinCount) on each 3D file among `files`: how many pins its review
    page shows and how many are open, its own and the carried ones, in one query."""
    rows = list(order.pins.values_list("file_id", "file__delivery__number", "revision_id", "resolved_at"))
    for file in files:
        if preview_kind(file.name) != "mesh":
            continue
        number = file.delivery.number if file.delivery_id else None
        # Its own pins, and the carried ones by the rule of _carried_to, on rows already read.
        shown = [row for row in rows if row[0] == file.pk
                 or (number is not None and row[1] == number - 1 and row[2] is not None)]
        file.pin_count = PinCount(total=len(shown), open=sum(1 for row in shown if row[3] is None))
    return files


def mesh_files(order: Order) -> list[OrderFile]:
    """The order's 3D files that are still stored, case files first, then by delivery: what
    the compare page offers."""
    files = order.files.filter(deleted_at__isnull=True).select_related("delivery").order_by(
        F("delivery__number").asc(nulls_first=True), "created_at", "pk")
    return [file for file in files if preview_kind(file.name) == "mesh"]


def pins_export(user) -> list[dict]:
    """The pins and replies the user wrote, for their data export."""
    return [
        {"order_id": pin.order_id, "number": pin.number, "file": pin.file.name, "kind": pin.kind,
         "text": pin.text if pin.author_id == user.pk else "", "point": pin.point, "end": pin.end,
         "created_at": pin.created_at if pin.author_id == user.pk else None,
         "reply": pin.reply if pin.resolved_by_id == user.pk else ""}
        for pin in Pin.objects.filter(Q(author=user) | Q(resolved_by=user)).select_related("file").order_by("pk")
    ]

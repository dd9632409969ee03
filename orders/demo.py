"""Demo orders for `make run` (called from marketplace/management/commands/seed_demo.py).

Five cases sent by the demo lab (@employer) to the demo designer (@freelancer) on her
public listings, each walked through the real services to a different state: waiting for
the designer, in progress, delivered (with two comments the lab pinned on the design),
completed (after one revision whose pins the designer resolved), and one the lab
withdrew before it was accepted, long enough ago that its case file has been deleted (files
of cases that end unpaid are kept UNPAID_CASE_FILES_KEPT_DAYS). The payments go through the
simulated gateway, as on the test-mode payment page.

Each case carries a lab reference in its instructions ("Lab ref BSL-..."): a demo order is
recognised by it, so running the seed again creates nothing new. An order moves on with
time like any other (a case nobody accepts expires after 3 days); the seed leaves it so.

The case files and designs are binary STL meshes generated here: preparation dies for the
cases, anatomic crowns for the deliveries, a few millimetres in size, in millimetres. No
randomness, so every run writes the same bytes."""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import User
from cadcam.files import check_case_file
from listings.models import Listing
from orders.models import Order, OrderEvent, Pin
from orders.pin_services import pin_create, pin_resolve
from orders.services import (
    order_accept,
    order_complete,
    order_create,
    order_deliver,
    order_mark_authorized,
    order_request_revision,
    order_withdraw,
    unpaid_case_files_purge,
)
from payments.simulated import SimulatedGateway

S = Order.Status

CROWNS = "Zirconia crowns and bridges designed in exocad, ready to mill"
VENEERS = "Lithium disilicate veneers, inlays and onlays for press or milling"
SMILE = "Digital smile design with wax-up and printable mock-up"

# --- the meshes ---------------------------------------------------------------------------------

Point = tuple[float, float, float]
Triangle = tuple[Point, Point, Point]


@dataclass(frozen=True)
class Tooth:
    """One unit of a mesh: a preparation die (case) or an anatomic crown (design), in mm."""

    width: float  # mesio-distal
    depth: float  # bucco-lingual
    height: float
    cusps: int = 0  # 0: a smooth preparation; 1: an incisal edge; 4: a molar's occlusal table


def _profile(tooth: Tooth, rings: int) -> list[tuple[float, float]]:
    """(radius factor, height) from the margin up to just below the top, for a surface of revolution."""
    points = []
    for i in range(rings):
        t = i / rings  # 0 at the margin, towards 1 at the top
        if tooth.cusps:  # a crown: bulges above the margin (height of contour), then rounds over
            radius = (1.0 + 0.12 * math.sin(math.pi * min(1.0, t * 1.6))) * math.cos(t * math.pi / 2) ** 0.45
        else:  # a preparation: a chamfer, tapered axial walls, a rounded occlusal reduction
            radius = (0.92 - 0.18 * t) * math.cos(t * math.pi / 2) ** 0.3
        points.append((radius, tooth.height * math.sin(t * math.pi / 2) ** 0.8))
    return points


def _occlusal(tooth: Tooth, angle: float, radius: float) -> float:
    """How much the cusps and fossae raise or lower the top of a crown at this point."""
    if tooth.cusps == 0:
        return 0.0
    inner = max(0.0, 1.0 - radius) ** 1.5  # only on the occlusal table
    if tooth.cusps == 1:
        return -0.6 * inner * math.cos(angle) ** 2  # an incisal edge, thin bucco-lingually
    return inner * (0.7 * math.cos(tooth.cusps * angle) - 0.5 * (1.0 - radius))


def tooth_triangles(tooth: Tooth, *, x: float = 0.0, segments: int = 48, rings: int = 12) -> list[Triangle]:
    """A closed, outward-facing mesh: the side surface, a flat base at the margin, and a cap."""
    rows = []
    for radius, z in _profile(tooth, rings):
        row = []
        for j in range(segments):
            angle = 2 * math.pi * j / segments
            row.append((x + tooth.width / 2 * radius * math.cos(angle), tooth.depth / 2 * radius * math.sin(angle),
                        z + _occlusal(tooth, angle, radius)))
        rows.append(row)
    fossa = sum(_occlusal(tooth, 2 * math.pi * j / segments, 0.0) for j in range(segments)) / segments
    apex = (x, 0.0, tooth.height + fossa)
    base = (x, 0.0, 0.0)
    triangles: list[Triangle] = []
    for j in range(segments):
        k = (j + 1) % segments
        triangles.append((base, rows[0][k], rows[0][j]))
        for lower, upper in itertools.pairwise(rows):
            triangles.append((lower[j], lower[k], upper[k]))
            triangles.append((lower[j], upper[k], upper[j]))
        triangles.append((rows[-1][j], rows[-1][k], apex))
    return triangles


def _normal(a: Point, b: Point, c: Point) -> Point:
    u = (b[0] - a[0], b[1] - a[1], b[2] - a[2])
    v = (c[0] - a[0], c[1] - a[1], c[2] - a[2])
    n = (u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0])
    length = math.sqrt(n[0] ** 2 + n[1] ** 2 + n[2] ** 2) or 1.0
    return (n[0] / length, n[1] / length, n[2] / length)


def binary_stl(triangles: Sequence[Triangle], *, header: str) -> bytes:
    """80-byte header, little-endian triangle count, then normal, three vertices and a 0 attribute each."""
    body = b"".join(struct.pack("<12fH", *_normal(*t), *t[0], *t[1], *t[2], 0) for t in triangles)
    return header.encode("ascii")[:80].ljust(80, b" ") + struct.pack("<I", len(triangles)) + body


def row_triangles(teeth: Iterable[Tooth]) -> list[Triangle]:
    """Teeth side by side along x (a bridge, a veneer set), centred on x = 0."""
    triangles: list[Triangle] = []
    teeth = list(teeth)
    x = -sum(tooth.width for tooth in teeth) / 2
    detail = max(24, 72 // len(teeth))  # keep a case between about 1 and 3 thousand triangles
    for tooth in teeth:
        triangles += tooth_triangles(tooth, x=x + tooth.width / 2, segments=detail, rings=max(8, detail // 4))
        x += tooth.width + 0.3  # the gap between the dies, or the connector space
    return triangles


def dental_stl(name: str, teeth: Iterable[Tooth], *, title: str) -> SimpleUploadedFile:
    """Teeth side by side along x (row_triangles), as a binary STL upload."""
    stl = binary_stl(row_triangles(teeth), header=f"CadCam Masters demo - {title} - units mm")
    upload = SimpleUploadedFile(name, stl, content_type="model/stl")
    check_case_file(upload)  # the same check as the upload forms: a demo file must pass it
    return upload


MOLAR = Tooth(10.5, 10.0, 6.5, cusps=4)
PREMOLAR = Tooth(7.0, 8.5, 7.0, cusps=2)
INCISOR = Tooth(8.5, 7.0, 9.5, cusps=1)
LATERAL = Tooth(6.5, 6.0, 8.5, cusps=1)
CANINE = Tooth(7.5, 8.0, 10.0, cusps=1)


def die(tooth: Tooth) -> Tooth:
    """The preparation under a crown: smaller, lower, smooth."""
    return Tooth(tooth.width * 0.8, tooth.depth * 0.8, tooth.height * 0.7)


# --- the orders ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoPin:
    """A pin the lab places on the first delivery's design: on the surface point nearest to
    `near`; with `to`, a measurement to the surface point nearest to that."""

    text: str
    near: Point
    to: Point | None = None
    reply: str = ""  # sent with the revision request, then resolved by the designer with this reply


def surface_point(triangles: Sequence[Triangle], near: Point) -> tuple[Point, Point]:
    """The centre of the triangle nearest to `near`, and its outward normal: a point on the mesh."""
    def centre(t: Triangle) -> Point:
        return (sum(p[0] for p in t) / 3, sum(p[1] for p in t) / 3, sum(p[2] for p in t) / 3)

    nearest = min(triangles, key=lambda t: math.dist(centre(t), near))
    return centre(nearest), _normal(*nearest)


def _place_pins(order: Order, spec: DemoOrder, by: User) -> list[Pin]:
    design = order.files.get(delivery__number=1)
    triangles = row_triangles(spec.teeth)
    pins = []
    for pin in spec.pins:
        point, normal = surface_point(triangles, pin.near)
        end = surface_point(triangles, pin.to)[0] if pin.to else None
        # Looking at the point along its normal from 30 mm, a little from above, as the lab did.
        eye = [p + 30 * n for p, n in zip(point, normal, strict=True)]
        eye[2] += 10
        camera = {"position": eye, "target": list(point), "up": [0, 0, 1]}
        pins.append(pin_create(file=design, by=by, text=pin.text, point=point, normal=normal, camera=camera,
                               end=end))
    return pins


@dataclass(frozen=True)
class DemoOrder:
    ref: str  # the lab reference at the start of the instructions; identifies the demo order
    listing: str  # title of one of the demo designer's public listings
    state: str  # the state the seed brings it to
    quantity: int
    instructions: str
    teeth: tuple[Tooth, ...]
    case_file: str
    design_file: str = ""
    options: tuple[str, ...] = ()  # add-on names
    delivery_note: str = ""
    revision: tuple[str, ...] = ()  # (what the lab asks, the note of the second delivery): one revision round
    exocad_project: str = ""  # a .constructionInfo sent with the scan, patient data hidden from the designer
    pins: tuple[DemoPin, ...] = ()  # placed by the lab on the first delivery (and sent with the revision)

    @property
    def full_instructions(self) -> str:
        return f"Lab ref {self.ref}\n{self.instructions}"


DEMO_ORDERS = [
    DemoOrder(
        ref="BSL-2041", listing=CROWNS, state=S.COMPLETED, quantity=1,
        instructions=(
            "Tooth 36, single full-contour crown on a prepared abutment.\n"
            "Material: monolithic zirconia (Katana STML), shade A3, minimum occlusal thickness 1.0 mm.\n"
            "Margin: deep chamfer, traced on the die. Light occlusal contacts with 26 and 27, "
            "tight mesial contact with 35."
        ),
        teeth=(MOLAR,), case_file="case-36.stl", design_file="design-36.stl",
        delivery_note="Crown 36 in Katana STML: occlusal thickness 1.1 mm, contacts checked against 26 and 27.",
        revision=(
            "The mesial contact with 35 is too open; please close it to 0.05 mm.",
            "Mesial contact with 35 closed to 0.05 mm. Nothing else changed.",
        ),
        pins=(
            DemoPin("Mesial contact with 35 is open here.", near=(-5.4, 0.0, 4.0),
                    reply="Closed to 0.05 mm in the revision."),
            DemoPin("Occlusal height to check against 26.", near=(0.0, 0.0, 7.0), to=(0.0, 0.0, 0.0),
                    reply="Checked in the articulator: light contact, no change needed."),
        ),
    ),
    DemoOrder(
        ref="BSL-2058", listing=CROWNS, state=S.DELIVERED, quantity=3, options=("Cut-back for layering",),
        instructions=(
            "Teeth 14-16, three-unit bridge: abutments 14 and 16, pontic 15 (modified ridge lap).\n"
            "Material: zirconia (Zolid Gen-X) with a buccal cut-back of 0.8 mm for layering, shade A2.\n"
            "Connectors at least 9 mm². Antagonist and bite scans are in the file."
        ),
        teeth=(PREMOLAR, PREMOLAR, MOLAR), case_file="case-14-16.stl", design_file="design-14-16.stl",
        delivery_note="Bridge 14-16 with 0.8 mm buccal cut-back; connectors 10.5 mm² and 11 mm².",
        exocad_project="case-14-16.constructionInfo",
        pins=(
            DemoPin("Connector 14-15 looks thinner than 9 mm² here; please check the cross-section.",
                    near=(-5.1, 0.0, 3.5)),
            DemoPin("Margin on 16 is open distally: the crown edge stands about 0.1 mm off the chamfer.",
                    near=(12.9, 0.0, 0.4)),
        ),
    ),
    DemoOrder(
        ref="BSL-2063", listing=VENEERS, state=S.ACCEPTED, quantity=4, options=("Express 24 h",),
        instructions=(
            "Teeth 12, 11, 21, 22: four veneers, minimal preparation, incisal overlap of 1 mm.\n"
            "Material: IPS e.max Press LT, shade BL2. Follow the approved wax-up; keep 0.4 mm cervically.\n"
            "Try-in on Friday, so express please."
        ),
        teeth=(LATERAL, INCISOR, INCISOR, LATERAL), case_file="case-12-22.stl",
    ),
    DemoOrder(
        ref="BSL-2070", listing=SMILE, state=S.REQUESTED, quantity=1, options=("Transfer key for the mock-up",),
        instructions=(
            "Smile design for teeth 13-23: close the diastema between 11 and 21, lengthen the centrals by 1.5 mm.\n"
            "Material for the final work: e.max, shade BL3; mock-up printed in A1 temporary resin.\n"
            "Patient photos (smile, rest, retracted) and the upper scan are in the file."
        ),
        teeth=(CANINE, LATERAL, INCISOR, INCISOR, LATERAL, CANINE), case_file="case-13-23.stl",
    ),
    DemoOrder(
        ref="BSL-2019", listing=CROWNS, state=S.WITHDRAWN, quantity=1,
        instructions=(
            "Tooth 46, screw-retained implant crown on a Straumann BLX RB base.\n"
            "Material: zirconia, shade A3.5. The patient postponed; we may send it again later."
        ),
        teeth=(MOLAR,), case_file="case-46.stl",
    ),
]

# Where each state sits on the way: an order is brought through the steps before its state.
STEPS = [S.REQUESTED, S.ACCEPTED, S.DELIVERED, S.COMPLETED]


def seed_orders(users: dict[str, User]) -> list[Order]:
    """Create the demo orders that do not exist yet; return all of them (existing ones as found)."""
    employer, freelancer = users["employer"], users["freelancer"]
    orders = []
    for spec in DEMO_ORDERS:
        existing = Order.objects.filter(
            employer=employer, freelancer=freelancer, instructions__startswith=f"Lab ref {spec.ref}\n"
        ).first()
        orders.append(existing or _create(spec, employer=employer, freelancer=freelancer))
    return orders


def exocad_project(name: str, spec: DemoOrder) -> SimpleUploadedFile:
    """An exocad .constructionInfo as the lab's DentalCAD writes it, naming a (made-up) patient:
    with "hide patient data" on, the designer downloads it with those fields blanked."""
    kinds = ["Crown", "Pontic", "Crown"]
    teeth = "".join(
        f"<Tooth><Number>{number}</Number><ReconstructionType>{kind}</ReconstructionType>"
        f"<Material>Zirconia (Zolid Gen-X)</Material></Tooth>"
        for number, kind in zip(("14", "15", "16"), kinds, strict=True)
    )
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<ConstructionInfo xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<ProjectName>Keller_Anna_{spec.ref}</ProjectName>"
        "<PatientFirstName>Anna</PatientFirstName><PatientLastName>Keller</PatientLastName>"
        "<PatientBirthdate>1968-03-14</PatientBirthdate><PatientRefNo>BSL-P-5521</PatientRefNo>"
        "<ClientName>Bright Smile Lab</ClientName>"
        f"<Teeth>{teeth}</Teeth></ConstructionInfo>"
    )
    return SimpleUploadedFile(name, xml.encode(), content_type="application/xml")


def _create(spec: DemoOrder, *, employer: User, freelancer: User) -> Order:
    listing = Listing.objects.get(owner=freelancer, title=spec.listing, edit_of__isnull=True, is_private=False)
    files = [dental_stl(spec.case_file, map(die, spec.teeth), title=f"{spec.ref} preparation scan")]
    if spec.exocad_project:
        files.append(exocad_project(spec.exocad_project, spec))
    order = order_create(
        listing=listing, employer=employer, quantity=spec.quantity,
        option_ids=list(listing.options.filter(name__in=spec.options).values_list("pk", flat=True)),
        instructions=spec.full_instructions, files=files,
    )
    SimulatedGateway().customer_pays(payment_id=order.payment_id, approve=True)
    order = order_mark_authorized(order=order)
    if spec.state == S.WITHDRAWN:
        return _withdrawn_long_ago(order, employer)
    target = STEPS.index(spec.state)
    if target >= STEPS.index(S.ACCEPTED):
        order = order_accept(order=order, by=freelancer)
    if target >= STEPS.index(S.DELIVERED):
        design = f"{spec.ref} design"
        order_deliver(order=order, by=freelancer, note=spec.delivery_note,
                      files=[dental_stl(spec.design_file, spec.teeth, title=design)])
        pins = _place_pins(order, spec, employer)
        if spec.revision:
            message, note = spec.revision
            order = order_request_revision(order=order, by=employer, message=message, pins=pins)
            order_deliver(order=order, by=freelancer, note=note,
                          files=[dental_stl(spec.design_file.replace(".stl", "-v2.stl"), spec.teeth, title=design)])
            for pin, pin_spec in zip(pins, spec.pins, strict=True):
                pin_resolve(pin=pin, by=freelancer, reply=pin_spec.reply)
    if target >= STEPS.index(S.COMPLETED):
        order_complete(order=order, by=employer)
    order.refresh_from_db()
    if order.status != spec.state:
        raise RuntimeError(f"Demo order {spec.ref} ended {order.status}, not {spec.state}.")
    return order


def _withdrawn_long_ago(order: Order, employer: User) -> Order:
    """Withdraw the case, date that two days past the grace period for files of unpaid cases,
    and let the sweep's purge delete its file: the order page shows the file as deleted."""
    order = order_withdraw(order=order, by=employer)
    ended = timezone.now() - timedelta(days=settings.UNPAID_CASE_FILES_KEPT_DAYS + 2)
    OrderEvent.objects.filter(order=order).update(created_at=ended)
    Order.objects.filter(pk=order.pk).update(created_at=ended, authorized_at=ended)
    unpaid_case_files_purge()
    order.refresh_from_db()
    return order

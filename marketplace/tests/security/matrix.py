"""The access matrix's cases: for every private URL of the inventory, the objects it is
probed with and, for each, who must be refused.

A `Cell` is one URL with one object. Each role in `denied` must get a refusal on GET and
on POST (404 or 403; anonymous users may instead be sent to sign in; 405 where the view does
not serve the method) and the database must not change. Roles in `step_up` (staff whose
session did not complete the second factor, on staff pages) may instead be sent to set up or
enter their authenticator app. Roles in `no_effect` may open the object but the action is not
theirs (the designer "completing" an order): their POST must change nothing. The first role
in `allowed` opens the page on GET (a check that the cell names a real, visible object).

`CASES` maps each private or staff-only URL name to the function that builds its cells;
`test_access_matrix.py` fails for a private URL of the inventory without an entry here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse

from cadcam.models import DirectUpload
from cadcam.staff import enrolment_token
from disputes.tests.helpers import DESCRIPTION, make_delivered
from listings.models import CadSoftware, Category
from marketplace.tests.security.world import (
    ANONYMOUS,
    EMPLOYER,
    FREELANCER,
    RECIPIENT,
    STAFF_MFA,
    STAFF_PLAIN,
    STRANGER,
    DbWatcher,
    World,
)
from messaging.support_views import STAFF_ACTIONS
from orders.models import Order
from orders.pin_services import pin_create
from orders.tests.helpers import stl_upload
from orders.transitions import EMPLOYER as EMPLOYER_ACTOR
from orders.transitions import FREELANCER as FREELANCER_ACTOR
from orders.transitions import TRANSITIONS
from orders.views import ACTIONS as ORDER_ACTIONS
from reviews.tests.helpers import GOOD

BASE = (ANONYMOUS, STRANGER, STAFF_PLAIN)  # refused on every private object of others


def _no_data() -> dict:
    return {}


@dataclass
class Cell:
    name: str
    label: str
    path: str
    denied: tuple[str, ...]
    allowed: tuple[str, ...] = ()
    no_effect: tuple[str, ...] = ()
    step_up: tuple[str, ...] = ()
    data: Callable[[], dict] = field(default=_no_data)
    actor: str | None = None  # whose POST does the action (default: the first allowed role)

    @property
    def poster(self) -> str:
        return self.actor or (self.allowed[0] if self.allowed else EMPLOYER)


# --- POST bodies: valid for the action, so a missing check would really change something -----------------


def order_action_data() -> dict:
    return {"reason": "Not for me", "note": "Designs attached", "message": "Please open the margin on 15.",
            "files": [stl_upload("design.stl")]}


def pin_data() -> dict:
    return {"kind": "comment", "point": "1,2,3", "normal": "0,0,1", "text": "Margin open here",
            "camera": '{"position": [0, -40, 30], "target": [1, 2, 3]}', "reply": "Closed"}


def message_data() -> dict:
    return {"body": "let me in", "files": [stl_upload("intruder.stl")]}


def listing_data() -> dict:
    return {
        "title": "Taken over", "category": str(Category.objects.get(slug="crowns-bridges").pk),
        "description": "x" * 200, "software": [str(CadSoftware.objects.get(slug="exocad-dentalcad").pk)],
        "revisions_included": "2", "price_cents": "99.00", "is_per_unit": "", "unit_name": "", "turnaround_days": "2",
        "is_private": "", "action": "save",
        "options-TOTAL_FORMS": "0", "options-INITIAL_FORMS": "0",
    }


def send_case_data() -> dict:
    return {"quantity": "1", "instructions": "let me in", "files": [stl_upload("case.stl")]}


def dispute_data() -> dict:
    return {"reason": "quality", "description": DESCRIPTION, "files": [stl_upload("proof.stl")]}


def review_data() -> dict:
    return {"rating": "1", "comment": GOOD}


def reply_data() -> dict:
    return {"reply": "Thank you, it was a pleasure to work on this case."}


def onboarding_data() -> dict:
    return {"account_holder": "Somebody Else", "iban": "DE89370400440532013000"}


def pay_data() -> dict:
    return {"outcome": "approve"}


# --- orders ------------------------------------------------------------------------------------------------

PARTIES = (EMPLOYER, FREELANCER)


def _order_detail(w: World) -> list[Cell]:
    return [
        Cell("orders:detail", "requested order", reverse("orders:detail", args=[w.order_requested.pk]),
             denied=BASE, allowed=(EMPLOYER, FREELANCER, STAFF_MFA)),
        Cell("orders:detail", "disputed order", reverse("orders:detail", args=[w.disputed[0].pk]),
             denied=BASE, allowed=(EMPLOYER, FREELANCER, STAFF_MFA)),
    ]


def _client_only(name: str) -> Callable[[World], list[Cell]]:
    """The payment pages are the client's: the designer and staff get 404 too."""

    def cells(w: World) -> list[Cell]:
        return [Cell(name, "unpaid order", reverse(name, args=[w.order_unpaid.pk]),
                     denied=(*BASE, FREELANCER, STAFF_MFA), allowed=(EMPLOYER,), data=pay_data)]

    return cells


def _order_in_state(w: World, states) -> Order:
    for order in (w.order_requested, w.order_accepted, w.order_delivered):
        if order.status in states:
            return order
    return w.order_requested


def _order_act(w: World) -> list[Cell]:
    cells = []
    for action in [*ORDER_ACTIONS, "no-such-action"]:
        sources, _, actor = TRANSITIONS.get(action, ({Order.Status.REQUESTED}, None, None))
        order = _order_in_state(w, sources)
        wrong_party = {EMPLOYER_ACTOR: (FREELANCER,), FREELANCER_ACTOR: (EMPLOYER,)}.get(actor, PARTIES)
        right_party = {EMPLOYER_ACTOR: EMPLOYER, FREELANCER_ACTOR: FREELANCER}.get(actor)
        cells.append(Cell("orders:act", f"{order.get_status_display().lower()} order, {action}",
                          reverse("orders:act", args=[order.pk, action]), denied=BASE,
                          no_effect=(*wrong_party, STAFF_MFA), data=order_action_data, actor=right_party))
    return cells


def _dispute_open(w: World) -> list[Cell]:
    return [Cell("disputes:open", "accepted order", reverse("disputes:open", args=[w.order_accepted.pk]),
                 denied=BASE, allowed=(EMPLOYER,), no_effect=(FREELANCER, STAFF_MFA), data=dispute_data)]


def _order_send(w: World) -> list[Cell]:
    """The order page's first message: the two parties' own thread, so staff are refused too."""
    return [Cell("messaging:order_send", "accepted order", reverse("messaging:order_send", args=[w.order_accepted.pk]),
                 denied=(*BASE, STAFF_MFA), data=message_data, actor=EMPLOYER)]


def _review_create(w: World) -> list[Cell]:
    return [Cell("reviews:create", "completed order", reverse("reviews:create", args=[w.order_completed.pk]),
                 denied=BASE, no_effect=(STAFF_MFA,), data=review_data, actor=EMPLOYER)]


def _receipt(w: World) -> list[Cell]:
    return [Cell("payouts:receipt", "completed order (the client's receipt)",
                 reverse("payouts:receipt", args=[w.order_completed.pk]),
                 denied=(*BASE, FREELANCER), allowed=(EMPLOYER, STAFF_MFA))]


def _order_file(name: str, extension: str) -> Callable[[World], list[Cell]]:
    def cells(w: World) -> list[Cell]:
        requested = w.order_requested
        delivered = w.order_delivered
        delivery_file = delivered.files.filter(delivery__isnull=False).first()
        found = [
            Cell(name, f"case file .{extension}",
                 reverse(name, args=[requested.pk, w.order_file(requested, extension).pk]),
                 denied=BASE, allowed=(EMPLOYER, FREELANCER, STAFF_MFA)),
            # Another order's file through an order of ours: 404 for everybody.
            Cell(name, f"another order's .{extension} through this order",
                 reverse(name, args=[requested.pk, w.order_file(w.other_order, extension).pk]),
                 denied=(*BASE, EMPLOYER, FREELANCER, STAFF_MFA)),
        ]
        if extension == "stl":
            found.append(Cell(name, "delivered design file", reverse(name, args=[delivered.pk, delivery_file.pk]),
                              denied=BASE, allowed=(EMPLOYER, FREELANCER, STAFF_MFA)))
        return found

    return cells


def _delivered_design(w: World):
    return w.order_delivered.files.filter(delivery__isnull=False).first()


def _pins(name: str) -> Callable[[World], list[Cell]]:
    """Pins on the delivered design: the parties write them (a pin they may not remove changes
    nothing), staff read only; another order's design through our order is nobody's."""

    def cells(w: World) -> list[Cell]:
        order, design = w.order_delivered, _delivered_design(w)
        pin = order.pins.filter(file=design).first() or pin_create(
            file=design, by=w.employer, text="Margin open here", point=[1, 2, 3], normal=[0, 0, 1],
            camera={"position": [0, -40, 30], "target": [1, 2, 3]})
        other = make_delivered(files=[stl_upload("other.stl")])
        other_design = other.files.filter(delivery__isnull=False).first()
        args = {"orders:pin_add": [order.pk, design.pk],
                "orders:pin_resolve": [order.pk, design.pk, pin.number],
                "orders:pin_delete": [order.pk, design.pk, pin.number]}[name]
        no_effect = (FREELANCER, STAFF_MFA) if name == "orders:pin_delete" else (STAFF_MFA,)
        return [
            Cell(name, "the delivered design", reverse(name, args=args), denied=BASE, no_effect=no_effect,
                 data=pin_data, actor=EMPLOYER),
            Cell(name, "another order's design through this order",
                 reverse(name, args=[order.pk, other_design.pk, *args[2:]]),
                 denied=(*BASE, EMPLOYER, FREELANCER, STAFF_MFA), data=pin_data),
        ]

    return cells


def _compare(w: World) -> list[Cell]:
    order, other = w.order_delivered, w.other_order
    path = reverse("orders:compare", args=[order.pk])
    return [
        Cell("orders:compare", "the delivered order's scan and design", path,
             denied=BASE, allowed=(EMPLOYER, FREELANCER, STAFF_MFA)),
        Cell("orders:compare", "another order's file named in the query", f"{path}?a={w.order_file(other, 'stl').pk}",
             denied=(*BASE, EMPLOYER, FREELANCER, STAFF_MFA)),
    ]


# --- listings --------------------------------------------------------------------------------------------


def _listing_detail(w: World) -> list[Cell]:
    return [
        Cell("listings:detail", "private listing", w.private_listing.get_absolute_url(),
             denied=(*BASE, EMPLOYER), allowed=(RECIPIENT, FREELANCER, STAFF_MFA)),
        Cell("listings:detail", "draft listing", w.draft_listing.get_absolute_url(),
             denied=(*BASE, EMPLOYER, RECIPIENT), allowed=(FREELANCER, STAFF_MFA)),
    ]


def _owner_only(name: str, data: Callable[[], dict]) -> Callable[[World], list[Cell]]:
    """Editing and archiving are the owner's alone (staff edit in the admin)."""

    def cells(w: World) -> list[Cell]:
        return [
            Cell(name, label, reverse(name, args=[listing.pk]),
                 denied=(*BASE, EMPLOYER, RECIPIENT, STAFF_MFA), allowed=(FREELANCER,), data=data)
            for label, listing in (("published listing", w.listing), ("private listing", w.private_listing),
                                   ("draft listing", w.draft_listing))
        ]

    return cells


def _for_recipients(name: str, data: Callable[[], dict]) -> Callable[[World], list[Cell]]:
    """Pages that act on a listing someone may order from: a private listing is for its
    recipients; a draft for nobody (its owner and staff only see it)."""

    def cells(w: World) -> list[Cell]:
        return [
            Cell(name, "private listing", reverse(name, args=[w.private_listing.pk]),
                 denied=(*BASE, EMPLOYER), allowed=(RECIPIENT,), data=data),
            Cell(name, "draft listing", reverse(name, args=[w.draft_listing.pk]),
                 denied=(*BASE, EMPLOYER, RECIPIENT), no_effect=(FREELANCER, STAFF_MFA), data=data),
        ]

    return cells


# --- conversations --------------------------------------------------------------------------------------


def _conversations(w: World) -> list[tuple[str, object, tuple[str, ...], tuple[str, ...]]]:
    """(label, conversation, readers, refused) of each kind of conversation."""
    return [
        ("direct conversation", w.direct, PARTIES, (*BASE, STAFF_MFA)),
        ("order conversation", w.order_conversation, PARTIES, BASE),
        ("dispute thread", w.dispute_thread, (*PARTIES, STAFF_MFA), BASE),
        ("support request", w.support_request, (EMPLOYER, STAFF_MFA), (*BASE, FREELANCER)),
    ]


def _conversation_url(name: str, data: Callable[[], dict] = _no_data, *, direct_only: bool = False):
    def cells(w: World) -> list[Cell]:
        found = []
        for label, conversation, readers, refused in _conversations(w):
            path = reverse(name, args=[conversation.pk])
            if direct_only and conversation.kind != "direct":  # blocking: direct conversations only
                found.append(Cell(name, label, path, denied=refused, no_effect=readers, data=data,
                                  actor=readers[0]))
            else:
                found.append(Cell(name, label, path, denied=refused, allowed=readers, data=data))
        return found

    return cells


def _attachment_url(name: str, extension: str):
    def cells(w: World) -> list[Cell]:
        found = [
            Cell(name, f"{label}, .{extension}",
                 reverse(name, args=[conversation.pk, w.attachment(conversation, extension).pk]),
                 denied=refused, allowed=readers)
            for label, conversation, readers, refused in _conversations(w)
        ]
        found.append(Cell(name, f"another conversation's .{extension} through ours",
                          reverse(name, args=[w.direct.pk, w.attachment(w.other_direct, extension).pk]),
                          denied=(*BASE, *PARTIES, STAFF_MFA)))
        return found

    return cells


def _support_detail(w: World) -> list[Cell]:
    return [
        Cell("messaging:support_detail", "support request", reverse("messaging:support_detail",
                                                                    args=[w.support_request.pk]),
             denied=(*BASE, FREELANCER), allowed=(EMPLOYER, STAFF_MFA)),
        Cell("messaging:support_detail", "direct conversation as a support request",
             reverse("messaging:support_detail", args=[w.direct.pk]), denied=(*BASE, *PARTIES, STAFF_MFA)),
    ]


def _staff_inbox(w: World) -> list[Cell]:
    return [Cell("messaging:staff_inbox", "support inbox", reverse("messaging:staff_inbox"),
                 denied=(ANONYMOUS, STRANGER, EMPLOYER), step_up=(STAFF_PLAIN,), allowed=(STAFF_MFA,))]


def _staff_act(w: World) -> list[Cell]:
    return [
        Cell("messaging:staff_act", f"support request, {action}",
             reverse("messaging:staff_act", args=[w.support_request.pk, action]),
             denied=(ANONYMOUS, STRANGER, EMPLOYER, FREELANCER), step_up=(STAFF_PLAIN,), actor=STAFF_MFA)
        for action in [*STAFF_ACTIONS, "no-such-action"]
    ]


def _staff_enrol(w: World) -> list[Cell]:
    """Setting up the app starts here for staff without one; nobody else has this page."""
    return [Cell("staff_enrol", "staff two-factor set-up", reverse("staff_enrol"),
                 denied=(ANONYMOUS, STRANGER, EMPLOYER), no_effect=(STAFF_MFA,))]


def _staff_enrol_confirm(w: World) -> list[Cell]:
    """The e-mailed link of a staff member: refused to members; another staff account is sent
    back to ask for its own link (test_staff_step_up checks the session is not confirmed)."""
    return [Cell("staff_enrol_confirm", "a staff member's e-mailed link",
                 reverse("staff_enrol_confirm", args=[enrolment_token(w.staff_mfa)]),
                 denied=(ANONYMOUS, STRANGER, EMPLOYER), step_up=(STAFF_PLAIN,))]


# --- documents, payouts, reviews ------------------------------------------------------------------------


def _id_document(w: World) -> list[Cell]:
    """The owner's own page; staff open documents in the admin only, where each opening is recorded."""
    return [Cell("accounts:verification_document", "the designer's ID document",
                 reverse("accounts:verification_document", args=[w.id_document.pk]),
                 denied=(*BASE, EMPLOYER, STAFF_MFA), allowed=(FREELANCER,))]


def _direct_upload(w: World) -> list[Cell]:
    """The employer's upload waiting for its form: nobody else may complete it. (The world keeps
    files on the local disk, where the owner gets 404 too; marketplace/tests/test_files_on_s3.py has the S3
    side.)"""
    upload, _ = DirectUpload.objects.get_or_create(owner=w.employer, name="case.stl", defaults={"size": 134})
    return [Cell("direct_upload_complete", "the client's direct upload",
                 reverse("direct_upload_complete", args=[upload.token]),
                 denied=(*BASE, FREELANCER, STAFF_MFA))]


def _payout_page(name: str) -> Callable[[World], list[Cell]]:
    def cells(w: World) -> list[Cell]:
        return [Cell(name, "the designer's payout account", reverse(name, args=[w.payout_account.gateway_account_id]),
                     denied=(*BASE, EMPLOYER, STAFF_MFA), allowed=(FREELANCER,), data=onboarding_data)]

    return cells


def _review_reply(w: World) -> list[Cell]:
    return [Cell("reviews:reply", "the client's review of the designer",
                 reverse("reviews:reply", args=[w.review_of_freelancer.pk]),
                 denied=(*BASE, STAFF_MFA), no_effect=(EMPLOYER,), data=reply_data, actor=FREELANCER)]


CASES: dict[str, Callable[[World], list[Cell]]] = {
    "orders:detail": _order_detail,
    "orders:pay": _client_only("orders:pay"),
    "orders:pay_return": _client_only("orders:pay_return"),
    "orders:pay_check": _client_only("orders:pay_check"),
    "orders:act": _order_act,
    "orders:download": _order_file("orders:download", "stl"),
    "orders:file_summary": _order_file("orders:file_summary", "constructioninfo"),
    "orders:review": _order_file("orders:review", "stl"),
    "orders:pin_add": _pins("orders:pin_add"),
    "orders:pin_resolve": _pins("orders:pin_resolve"),
    "orders:pin_delete": _pins("orders:pin_delete"),
    "orders:compare": _compare,
    "disputes:open": _dispute_open,
    "messaging:order_send": _order_send,
    "reviews:create": _review_create,
    "reviews:reply": _review_reply,
    "payouts:receipt": _receipt,
    "listings:detail": _listing_detail,
    "listings:edit": _owner_only("listings:edit", listing_data),
    "listings:recipient_search_for": _owner_only("listings:recipient_search_for", _no_data),
    "listings:archive": _owner_only("listings:archive", _no_data),
    "listings:favorite": _for_recipients("listings:favorite", _no_data),
    "orders:send_case": _for_recipients("orders:send_case", send_case_data),
    "messaging:contact": _for_recipients("messaging:contact", message_data),
    "messaging:conversation": _conversation_url("messaging:conversation"),
    "messaging:send": _conversation_url("messaging:send", message_data),
    "messaging:poll": _conversation_url("messaging:poll"),
    "messaging:block": _conversation_url("messaging:block", direct_only=True),
    "messaging:unblock": _conversation_url("messaging:unblock", direct_only=True),
    "messaging:download": _attachment_url("messaging:download", "stl"),
    "messaging:attachment_summary": _attachment_url("messaging:attachment_summary", "constructioninfo"),
    "messaging:support_detail": _support_detail,
    "messaging:staff_inbox": _staff_inbox,
    "messaging:staff_act": _staff_act,
    "staff_enrol": _staff_enrol,
    "staff_enrol_confirm": _staff_enrol_confirm,
    "accounts:verification_document": _id_document,
    "direct_upload_complete": _direct_upload,
    "payouts:simulated_onboarding": _payout_page("payouts:simulated_onboarding"),
    "payouts:simulated_dashboard": _payout_page("payouts:simulated_dashboard"),
}


# --- running a cell ---------------------------------------------------------------------------------------

LOGIN_PATH = "/accounts/login/"
# Where staff without the second factor are sent: to confirm by e-mail and set up the app, or
# to enter its code.
SET_UP_NAMES = ("staff_enrol", "mfa_activate_totp")
ENTER_NAMES = ("mfa_reauthenticate", "mfa_authenticate")


def paths_of(names) -> tuple[str, ...]:
    found = []
    for name in names:
        try:
            found.append(reverse(name))
        except NoReverseMatch:
            continue
    return tuple(found)


def step_up_paths() -> tuple[str, ...]:
    return paths_of((*SET_UP_NAMES, *ENTER_NAMES))


def _refusal_problem(role: str, method: str, response, *, step_up: bool) -> str | None:
    status = response.status_code
    location = response.get("Location", "") if status in (301, 302, 303) else ""
    if status in (403, 404):
        return None
    if status == 405 and method == "POST" and "POST" not in response.get("Allow", ""):
        return None
    if status == 405 and method == "GET" and "GET" not in response.get("Allow", ""):
        return None
    if role == ANONYMOUS and location.startswith(LOGIN_PATH):
        return None
    if step_up and location.startswith(step_up_paths()):
        return None
    return f"answered {status}{' -> ' + location if location else ''}"


def run_cell(world: World, cell: Cell, watcher: DbWatcher) -> tuple[int, list[str]]:
    """Probe one cell; returns (requests made, problems found)."""
    made, problems = 0, []

    def probe(role: str, method: str):
        nonlocal made
        client = world.client(role)  # signs in first: that changes last_login
        watcher.sync()
        response = client.get(cell.path) if method == "GET" else client.post(cell.path, cell.data())
        changed = watcher.changed()
        made += 1
        where = f"{cell.name} [{cell.label}] {method} {cell.path} as {role}"
        if changed:
            problems.append(f"{where}: changed {', '.join(changed)}")
        return response, where

    for role in (*cell.denied, *cell.step_up):
        for method in ("GET", "POST"):
            response, where = probe(role, method)
            problem = _refusal_problem(role, method, response, step_up=role in cell.step_up)
            if problem:
                problems.append(f"{where}: {problem} (expected a refusal)")
    for role in cell.no_effect:
        response, where = probe(role, "POST")
        if response.status_code >= 500:
            problems.append(f"{where}: answered {response.status_code}")
    for role in cell.allowed:  # the entitled open it: the cell probes a real, visible object
        response = world.client(role).get(cell.path)
        location = response.get("Location", "")
        made += 1
        if response.status_code in (403, 404) or response.status_code >= 500 or location.startswith(
            (LOGIN_PATH, *step_up_paths())
        ):
            problems.append(f"{cell.name} [{cell.label}] GET {cell.path} as {role} (entitled): "
                            f"answered {response.status_code} {location}")
    return made, problems

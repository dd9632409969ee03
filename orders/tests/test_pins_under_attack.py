"""Design review pins, attacked from outside: the wrong people, other orders' ids, tampered
and absurd input, orders in every state, two requests at once, markup in everything a person
writes, and the htmx and no-JavaScript paths. What a person may not see answers 404; what they
may see but not do answers with a sentence, and nothing changes."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from accounts.services import user_suspend
from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError
from orders.models import Order, Pin
from orders.pin_services import pin_delete, pin_resolve
from orders.services import (
    order_complete,
    order_decline,
    order_dispute,
    order_expire,
    order_refund,
    order_request_revision,
    order_withdraw,
)
from orders.tests.helpers import make_order, race, stl_upload
from orders.tests.test_pins import FORM, add_url, delivered_order, design, pin, redeliver, review_url
from orders.transitions import lock_order

pytestmark = pytest.mark.django_db
S = Order.Status
XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'&'


def resolve_url(order, number, file=None):
    return reverse("orders:pin_resolve", args=[order.pk, (file or design(order)).pk, number])


def delete_url(order, number, file=None):
    return reverse("orders:pin_delete", args=[order.pk, (file or design(order)).pk, number])


def compare_url(order):
    return reverse("orders:compare", args=[order.pk])


def post_htmx(client, url, data=None):
    return client.post(url, data or {}, HTTP_HX_REQUEST="true")


def snapshot():
    """Every pin as stored: what a refused request must leave as it was."""
    return list(Pin.objects.order_by("pk").values())


# --- who: strangers, the other party, staff, suspended and signed-out people --------------------


def test_every_pin_url_is_404_to_outsiders_and_to_a_staff_session_without_the_second_factor(client, settings):
    order = delivered_order()
    placed = pin(order)
    before = snapshot()
    reads = [review_url(order), compare_url(order)]
    writes = [add_url(order), resolve_url(order, placed.number), delete_url(order, placed.number)]
    strangers = [make_user(), delivered_order().employer, delivered_order().freelancer]

    for stranger in strangers:
        client.force_login(stranger)
        assert [client.get(url).status_code for url in reads] == [404, 404]
        assert [client.post(url, {**FORM, "reply": "x"}).status_code for url in writes] == [404, 404, 404]
        assert [post_htmx(client, url, {**FORM, "reply": "x"}).status_code for url in writes] == [404, 404, 404]

    settings.ADMIN_REQUIRES_MFA = True  # production: a password-only staff session is nobody here
    client.force_login(make_user(is_staff=True))
    assert [client.get(url).status_code for url in reads] == [404, 404]
    assert [client.post(url, {**FORM, "reply": "x"}).status_code for url in writes] == [404, 404, 404]
    assert snapshot() == before


def test_signed_out_and_suspended_people_are_sent_to_sign_in_and_change_nothing(client):
    order = delivered_order()
    placed = pin(order)
    before = snapshot()
    writes = [add_url(order), resolve_url(order, placed.number), delete_url(order, placed.number)]

    anonymous = Client()
    assert anonymous.get(review_url(order)).status_code == 302
    assert all(anonymous.post(url, {**FORM, "reply": "x"}).status_code == 302 for url in writes)

    client.force_login(order.employer)
    user_suspend(user=order.employer, by=make_user(is_staff=True), reason="Fraud")
    assert client.get(review_url(order)).status_code == 302
    assert all(client.post(url, {**FORM, "reply": "x"}).status_code == 302 for url in writes)
    assert snapshot() == before


def test_a_deleted_authors_pins_stay_readable_under_no_name(client):
    from accounts.services import user_delete
    from accounts.tests.helpers import PASSWORD

    order = delivered_order()
    placed = pin(order, text="Margin open")
    pin_resolve(pin=placed, by=order.employer, reply="Closed after all")
    order_complete(order=order, by=order.employer)
    user_delete(user=order.employer, password=PASSWORD)
    client.force_login(order.freelancer)

    page = client.get(review_url(order)).content.decode()

    assert "deleted user · " in page and "deleted user:" in page and "Margin open" in page
    assert order.employer.email not in page


def test_a_post_without_the_csrf_token_is_refused(client):
    order = delivered_order()
    placed = pin(order)
    before = snapshot()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(order.employer)

    for url in (add_url(order), resolve_url(order, placed.number), delete_url(order, placed.number)):
        assert strict.post(url, {**FORM, "reply": "x"}, HTTP_HX_REQUEST="true").status_code == 403
    assert snapshot() == before
    # The pages carry the token in every form htmx posts.
    page = strict.get(review_url(order)).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') == page.count('method="post"') >= 3  # add, resolve, remove


def test_staff_reading_as_staff_get_a_message_for_every_write_and_nothing_changes(client):
    order = delivered_order()
    placed = pin(order)
    before = snapshot()
    client.force_login(make_user(is_staff=True))

    added = post_htmx(client, add_url(order), FORM).content.decode()
    resolved = post_htmx(client, resolve_url(order, placed.number), {"reply": "Fixed by staff"}).content.decode()
    removed = post_htmx(client, delete_url(order, placed.number)).content.decode()

    assert "Only the client and the designer of this order can pin comments." in added
    assert "Only the client and the designer of this order can pin comments." in resolved
    assert "Only the person who placed a pin can remove it." in removed
    assert snapshot() == before


# --- whose: other orders' files and pin numbers (IDOR) ------------------------------------------


def test_other_orders_files_and_pins_are_404_through_this_orders_urls(client):
    order = delivered_order(employer=make_user())
    mine = pin(order)
    # The same client's other order: they may see it, but not through this order's URLs.
    other = delivered_order(employer=order.employer)
    theirs = pin(other, text="Other order's pin")
    scan = order.files.get(name="scan.stl")
    pdf = order.files.get(name="report.pdf")
    on_scan = pin(order, file=scan, text="On the case scan")
    before = snapshot()
    client.force_login(order.employer)

    # Another order's file under this order, this order's file under another order.
    assert client.get(reverse("orders:review", args=[order.pk, design(other).pk])).status_code == 404
    assert client.get(reverse("orders:review", args=[other.pk, design(order).pk])).status_code == 404
    assert client.post(reverse("orders:pin_add", args=[order.pk, design(other).pk]), FORM).status_code == 404
    assert client.post(reverse("orders:pin_add", args=[other.pk, design(order).pk]), FORM).status_code == 404
    assert client.post(reverse("orders:pin_resolve", args=[order.pk, design(other).pk, theirs.number]),
                       {"reply": "x"}).status_code == 404
    assert client.post(reverse("orders:pin_delete", args=[other.pk, design(order).pk, mine.number])).status_code == 404
    # A pin of this order, named through a file it is not on (not its own, not carried there).
    assert client.post(resolve_url(order, on_scan.number), {"reply": "x"}).status_code == 404
    assert client.post(delete_url(order, on_scan.number)).status_code == 404
    assert client.post(resolve_url(order, mine.number, file=scan), {"reply": "x"}).status_code == 404
    # Not a 3D file, no such pin, ids out of any range.
    for url in (reverse("orders:review", args=[order.pk, pdf.pk]), reverse("orders:pin_add", args=[order.pk, pdf.pk])):
        assert client.generic("GET" if "review" in url else "POST", url).status_code == 404
    huge = 10**20
    assert client.get(reverse("orders:review", args=[order.pk, huge])).status_code == 404
    assert client.get(reverse("orders:review", args=[huge, design(order).pk])).status_code == 404
    assert client.post(resolve_url(order, huge), {"reply": "x"}).status_code == 404
    assert client.post(delete_url(order, 0)).status_code == 404
    assert snapshot() == before


def test_a_deleted_case_file_has_no_review_page_and_takes_no_pins(client):
    order = delivered_order()
    scan = order.files.get(name="scan.stl")
    placed = pin(order, file=scan)
    scan.deleted_at = timezone.now()
    scan.save(update_fields=["deleted_at"])
    before = snapshot()
    client.force_login(order.employer)

    assert client.get(review_url(order, scan)).status_code == 404
    assert client.post(add_url(order, scan), FORM).status_code == 404
    assert client.post(resolve_url(order, placed.number, file=scan), {"reply": "x"}).status_code == 404
    assert client.get(compare_url(order), {"a": scan.pk, "b": design(order).pk}).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("query", [
    {"a": "x"}, {"b": "-1"}, {"a": "1.5"}, {"a": "0x10"}, {"b": " 1"},
    {"delivery": "abc"}, {"delivery": "-1"}, {"delivery": "99"}, {"delivery": ""},
    {"delivery": "\u00b2"},  # "²": str.isdigit() says yes, int() says no
    {"delivery": "\u0661"},  # an Arabic-Indic digit one
    {"delivery": "9" * 5000},  # more digits than int() converts
])
def test_compare_answers_garbage_in_the_query_with_a_page_or_404_never_an_error(client, query):
    order = delivered_order()
    client.force_login(order.employer)

    response = client.get(compare_url(order), query)

    assert response.status_code in (200, 404)


def test_compare_refuses_other_orders_files_non_3d_and_deleted_files(client):
    order = delivered_order()
    other = delivered_order(employer=order.employer)
    client.force_login(order.employer)
    ours = design(order).pk

    assert client.get(compare_url(order), {"a": design(other).pk, "b": ours}).status_code == 404
    assert client.get(compare_url(order), {"a": ours, "b": design(other).pk}).status_code == 404
    assert client.get(compare_url(order), {"a": order.files.get(name="report.pdf").pk, "b": ours}).status_code == 404
    page = client.get(compare_url(order), {"a": ours, "b": ours})  # the same file twice: shown, harmless
    assert page.status_code == 200


# --- the revision form's pins field ---------------------------------------------------------------


def request_revision(client, order, pins, message="See the pins"):
    return client.post(reverse("orders:act", args=[order.pk, "request_revision"]),
                       {"message": message, "pins": pins}, follow=True)


@pytest.mark.parametrize("which", ["foreign", "case_file", "sent", "resolved", "older_delivery", "garbage", "huge",
                                   "markup"])
def test_the_revision_form_refuses_every_pin_it_did_not_offer_and_changes_nothing(client, which):
    order = delivered_order()
    pins = {
        "foreign": lambda: pin(delivered_order(employer=order.employer)).pk,
        "case_file": lambda: pin(order, file=order.files.get(name="scan.stl")).pk,
        "resolved": lambda: pin_resolve(pin=pin(order), by=order.freelancer, reply="done").pk,
        "garbage": lambda: "1; DROP TABLE orders_pin",
        "huge": lambda: str(10**20),
        "markup": lambda: XSS,
    }
    if which in ("sent", "older_delivery"):
        old = pin(order)  # on delivery 1: sent with the first request, or not
        order = order_request_revision(order=order, by=order.employer, message="first round",
                                       pins=[old] if which == "sent" else [])
        order = redeliver(order)
        chosen = old.pk
    else:
        chosen = pins[which]()
    fresh = pin(order, file=order.files.filter(delivery__isnull=False, name__endswith=".stl").latest("pk"))
    before = snapshot()
    used = order.revisions_used
    client.force_login(order.employer)

    response = request_revision(client, order, [fresh.pk, chosen])

    body = response.content.decode()
    assert response.status_code == 200
    assert "cannot go with this request" in body or "is not a valid value" in body
    assert "<script>alert(1)" not in body
    order.refresh_from_db()
    assert order.status == S.DELIVERED and order.revisions_used == used
    assert snapshot() == before


def test_the_designer_cannot_send_pins_with_a_revision_request(client):
    order = delivered_order()
    placed = pin(order)
    before = snapshot()
    client.force_login(order.freelancer)

    body = request_revision(client, order, [placed.pk]).content.decode()

    assert "Only the client who sent this case can do that." in body
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_a_revision_request_racing_a_pin_removal_or_resolution_keeps_both_consistent():
    for other_action in ("delete", "resolve"):
        order = delivered_order()
        placed = pin(order)
        act = (lambda p=placed, o=order: pin_delete(pin=p, by=o.employer)) if other_action == "delete" else (
            lambda p=placed, o=order: pin_resolve(pin=p, by=o.freelancer, reply="done"))

        outcomes = race(lambda p=placed, o=order: order_request_revision(order=o, by=o.employer, message="see pin",
                                                                         pins=[p]), act)

        assert all(outcome is None or isinstance(outcome, ApplicationError) for outcome in outcomes), outcomes
        order.refresh_from_db()
        left = Pin.objects.filter(pk=placed.pk).first()
        if outcomes[0] is None:  # the request won: the pin went with it, and stays (it may be resolved after)
            assert order.status == S.ACCEPTED and order.revisions_used == 1
            assert left is not None and left.revision is not None
            assert (outcomes[1] is None) == (other_action == "resolve")
        else:  # the removal or resolution won: the request is refused whole
            assert outcomes[1] is None
            assert order.status == S.DELIVERED and order.revisions_used == 0
            assert left is None or (left.revision is None and left.is_resolved)


def test_a_revision_request_with_a_pin_removed_after_the_page_was_shown_changes_nothing():
    order = delivered_order()
    placed = pin(order)
    from orders.forms import RevisionForm

    form = RevisionForm({"message": "see pin", "pins": [placed.pk]}, order=order)
    assert form.is_valid()
    pin_delete(pin=placed, by=order.employer)  # between the form's check and the service

    with pytest.raises(ApplicationError, match="resolved, removed or already sent meanwhile"):
        order_request_revision(order=order, by=order.employer, message="see pin", pins=form.cleaned_data["pins"])
    order.refresh_from_db()
    assert order.status == S.DELIVERED and order.revisions_used == 0


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "message"), [
    # Coordinates
    ({"point": "1,2,3" + " " * 300 + ",junk"}, "position was not understood"),
    ({"point": "1e400,0,0"}, "position was not understood"),
    ({"point": "Infinity,0,0"}, "position was not understood"),
    ({"point": "-inf,0,0"}, "position was not understood"),
    ({"point": "NaN,0,0"}, "position was not understood"),
    ({"point": "1,2,3,4"}, "position was not understood"),
    ({"point": "1;2;3"}, "position was not understood"),
    ({"point": "1,2,100001"}, "position of the pin was not understood"),
    ({"normal": "0,0,0"}, "direction of the pin was not understood"),
    ({"normal": "-0,-0,-0"}, "direction of the pin was not understood"),
    ({"point": "1\x00,2,3"}, "position was not understood"),
    # The camera's JSON, of every wrong shape
    ({"camera": "null"}, "Click the model where the pin goes first."),
    ({"camera": '"front"'}, "view of the pin was not understood"),
    ({"camera": "42"}, "view of the pin was not understood"),
    ({"camera": "[" * 1000}, "view was not understood"),  # deeper than the JSON parser recurses
    ({"camera": "[" * 999 + "]" * 1}, "view was not understood"),
    ({"camera": json.dumps({"position": [1] * 4, "target": [0, 0, 0]})}, "view of the pin was not understood"),
    ({"camera": json.dumps({"position": [1] * 400, "target": [0, 0, 0]})}, "view was not understood"),
    ({"camera": json.dumps({"position": [[0, 0, 0]], "target": [0, 0, 0]})}, "view of the pin was not understood"),
    ({"camera": json.dumps({"position": None, "target": [0, 0, 0]})}, "view of the pin was not understood"),
    ({"camera": json.dumps({"position": [0, -40, 30], "target": [0, 0, 0], "up": [0, 0, 0]})},
     "view of the pin was not understood"),
    ({"camera": json.dumps({"position": "123", "target": "456"})}, "view of the pin was not understood"),
    ({"camera": json.dumps({"position": {"1": 0, "2": 0, "3": 0}, "target": [0, 0, 0]})},
     "view of the pin was not understood"),
    ({"camera": json.dumps({"position": [True, False, True], "target": [0, 0, 0]})},
     "view of the pin was not understood"),
    ({"camera": json.dumps({"position": ["1", "2", "3"], "target": [0, 0, 0]})}, "view of the pin was not understood"),
    ({"camera": '{"position": [' + "9" * 400 + ', 0, 0], "target": [0, 0, 0]}'}, "view of the pin was not understood"),
    ({"camera": json.dumps({"position": [0, 0, 1e300], "target": [0, 0, 0]})}, "view of the pin was not understood"),
    ({"camera": '{"position": [NaN, 0, 1], "target": [0, 0, 0]}'}, "view of the pin was not understood"),
    ({"camera": '{"position": [Infinity, 0, 1], "target": [0, 0, 0]}'}, "view of the pin was not understood"),
    ({"camera": json.dumps({"x": "y" * 995})}, "view was not understood"),  # over 1000 characters
    # Text
    ({"text": "Margin\x00open"}, "Remove the control characters from this text."),
    ({"text": "Margin \u202eopen"}, "Remove the control characters from this text."),
    ({"text": "x" * 10_000}, "at most 2000 characters"),
    ({"text": "\n \t "}, "Write what the pin is about."),
    # Kind
    ({"kind": "Measurement", "end": "4,5,6"}, "Select a valid choice."),
    ({"kind": ""}, "This field is required."),
    ({"kind": "measurement", "end": "1,2,3", "point": "1,2,3", "text": ""}, "Pick two different points"),
    ({"kind": "measurement", "end": "1.5,2,-3.25", "point": "1.5,2,-3.250000000001"}, "Pick two different points"),
    ({"kind": "measurement", "end": "0,0,0", "point": "-0,-0,-0"}, "Pick two different points"),
    ({"kind": "measurement", "end": "0,0,1e-9", "point": "0,0,0"}, "Pick two different points"),
    ({"kind": "measurement", "end": "nan,0,0"}, "position was not understood"),
])
def test_absurd_input_gets_a_sentence_in_the_fragment_and_stores_nothing(client, changes, message):
    order = delivered_order()
    client.force_login(order.employer)

    response = post_htmx(client, add_url(order), {**FORM, **changes})

    body = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 200
    assert any(words in body for words in ([message] if isinstance(message, str) else message)), body
    assert not Pin.objects.exists()


@pytest.mark.parametrize(("changes", "message"), [
    ({"point": [10**400, 0, 0]}, "position of the pin was not understood"),
    ({"camera": {"position": [10**400, 0, 0], "target": [0, 0, 0]}}, "view of the pin was not understood"),
    ({"camera": {"position": "123", "target": [0, 0, 0]}}, "view of the pin was not understood"),
    ({"camera": {"position": [0, 0, 1], "target": [0, 0, 0], "up": "001"}}, "view of the pin was not understood"),
    ({"normal": [True, False, False]}, "direction of the pin was not understood"),
    ({"text": "", "point": [0, 0, 0], "end": [0, 0, 1e-12]}, "Pick two different points"),
])
def test_the_service_refuses_what_no_form_would_send(changes, message):
    order = delivered_order()

    with pytest.raises(ApplicationError, match=message):
        pin(order, **changes)
    assert not Pin.objects.exists()


def test_extreme_but_valid_values_are_kept_exactly(client):
    order = delivered_order()
    client.force_login(order.employer)

    post_htmx(client, add_url(order), {**FORM, "kind": "comment", "point": "-0,1e-3,-100000",
                                        "normal": "0,0,-5", "end": "9,9,9", "text": "  Keep\r\nthis  "})

    placed = Pin.objects.get()
    assert placed.point == [0.0, 0.001, -100000.0] and placed.normal == [0, 0, -1.0]
    assert placed.end is None and placed.kind == "comment"  # a comment's end is dropped, not stored
    assert placed.text == "Keep\r\nthis"
    assert placed.camera == {"position": [0, -40, 30], "target": [1, 2, 3], "up": [0, 0, 1]}
    page = client.get(review_url(order)).content.decode()
    assert 'data-point="0.0,0.001,-100000.0"' in page or 'data-point="-0.0,0.001,-100000.0"' in page


@pytest.mark.parametrize("reply", ["", "   \n ", "x" * 2001, "done\x07", "done \u2066"])
def test_a_bad_reply_says_so_and_the_pin_stays_open(client, reply):
    order = delivered_order()
    placed = pin(order)
    client.force_login(order.freelancer)

    body = post_htmx(client, resolve_url(order, placed.number), {"reply": reply}).content.decode()

    assert "Write a reply saying what was done about it." in body or "at most 2000 characters" in body \
        or "Remove the control characters" in body
    assert '<details class="mt-1" open>' in body  # the form of that pin stays open with its error
    placed.refresh_from_db()
    assert not placed.is_resolved and placed.reply == ""


# --- the order's state ----------------------------------------------------------------------------


def _in_state(state):
    """An order with a delivered design.stl and one open pin, brought to `state` through the services."""
    order = delivered_order()
    placed = pin(order)
    if state == S.DISPUTED or state == S.REFUNDED:
        with transaction.atomic():
            order = order_dispute(order=lock_order(order), by=order.employer, note="Margins open")
        if state == S.REFUNDED:
            with transaction.atomic():
                order = order_refund(order=lock_order(order), by=None, note="Refunded", authorized=True)
    elif state == S.COMPLETED:
        order = order_complete(order=order, by=order.employer)
    order.refresh_from_db()
    assert order.status == state
    return order, placed


def _unpaid_in_state(state):
    """An order with a case scan carrying one pin (placed while requested), then in `state`."""
    order = make_order(files=[stl_upload("scan.stl")])
    placed = pin(order, file=order.files.get())
    if state == S.DECLINED:
        order = order_decline(order=order, by=order.freelancer)
    elif state == S.WITHDRAWN:
        order = order_withdraw(order=order, by=order.employer)
    elif state == S.EXPIRED:
        order = order_expire(order=order, now=timezone.now() + timedelta(days=30))
    order.refresh_from_db()
    assert order.status == state
    return order, placed


@pytest.mark.parametrize("state", [S.COMPLETED, S.REFUNDED, S.DECLINED, S.EXPIRED, S.WITHDRAWN])
def test_after_the_order_ended_pins_are_read_not_written_and_each_refusal_is_shown(client, state):
    order, placed = (_in_state if state in (S.COMPLETED, S.REFUNDED) else _unpaid_in_state)(state)
    file = placed.file
    before = snapshot()
    words = f"This order is {order.get_status_display().lower()}: its pins can be read, not changed."

    for person in (order.employer, order.freelancer):
        client.force_login(person)
        page = client.get(review_url(order, file)).content.decode()
        assert 'data-can-pin="0"' in page and 'id="pin-1"' in page and "data-pin-form" not in page
        for url, data in ((add_url(order, file), FORM),
                          (resolve_url(order, placed.number, file=file), {"reply": "Fixed"}),
                          (delete_url(order, placed.number, file=file), {})):
            fragment = post_htmx(client, url, data).content.decode()
            assert words in fragment.replace("&#x27;", "'"), (url, fragment)
            plain = client.post(url, data)  # without JavaScript: the page, with the sentence
            assert plain.status_code == 200 and words in plain.content.decode().replace("&#x27;", "'")
    assert snapshot() == before


def test_no_pins_while_the_case_waits_for_payment(client):
    order = make_order(files=[stl_upload("scan.stl")], authorized=False)
    scan = order.files.get()
    client.force_login(order.employer)

    body = post_htmx(client, add_url(order, scan), FORM).content.decode()

    assert "This order is waiting for payment: its pins can be read, not changed." in body.replace("&#x27;", "'")
    assert not Pin.objects.exists()


@pytest.mark.parametrize("state", [S.REQUESTED, S.ACCEPTED, S.DELIVERED, S.DISPUTED])
def test_while_the_work_is_open_or_disputed_both_parties_pin_resolve_and_remove(client, state):
    if state == S.REQUESTED:
        order, placed = make_order(files=[stl_upload("scan.stl")]), None
        file = order.files.get()
        placed = pin(order, file=file)
    elif state == S.ACCEPTED:
        order = delivered_order()
        order = order_request_revision(order=order, by=order.employer, message="again")
        file = design(order)
        placed = pin(order)
    else:
        order, placed = _in_state(state)
        file = design(order)
    client.force_login(order.freelancer)

    post_htmx(client, add_url(order, file), {**FORM, "text": "Designer's own note"})
    post_htmx(client, resolve_url(order, placed.number, file=file), {"reply": "Fixed"})
    client.force_login(order.employer)
    mine = Pin.objects.get(text="Designer's own note")
    refused = post_htmx(client, delete_url(order, mine.number, file=file)).content.decode()
    client.force_login(order.freelancer)
    post_htmx(client, delete_url(order, mine.number, file=file))

    assert "Only the person who placed a pin can remove it." in refused
    placed.refresh_from_db()
    assert placed.reply == "Fixed" and not Pin.objects.filter(pk=mine.pk).exists()


# --- two requests at once ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_many_pins_placed_at_once_get_distinct_numbers():
    order = delivered_order()

    outcomes = race(*[lambda by=by: pin(order, by=by) for by in (order.employer, order.freelancer) * 3])

    assert outcomes == [None] * 6
    assert sorted(Pin.objects.values_list("number", flat=True)) == [1, 2, 3, 4, 5, 6]


def test_resolving_or_removing_a_pin_removed_meanwhile_says_so():
    """The losing side of a race (or a double click on "Remove"): the request loaded the pin,
    then the other one removed it before this one got the order's lock."""
    order = delivered_order()
    placed = pin(order)
    stale = Pin.objects.get(pk=placed.pk)
    pin_delete(pin=placed, by=order.employer)

    with pytest.raises(ApplicationError, match="Pin 1 was removed"):
        pin_resolve(pin=stale, by=order.freelancer, reply="Fixed")
    with pytest.raises(ApplicationError, match="Pin 1 was removed"):
        pin_delete(pin=stale, by=order.employer)


@pytest.mark.django_db(transaction=True)
def test_resolve_and_remove_at_once_one_wins_the_other_gets_a_sentence():
    for _ in range(3):
        Pin.objects.all().delete()
        order = delivered_order()
        placed = pin(order)

        outcomes = race(lambda p=placed, o=order: pin_resolve(pin=p, by=o.freelancer, reply="Fixed"),
                        lambda p=placed, o=order: pin_delete(pin=p, by=o.employer))

        assert sorted(type(outcome).__name__ for outcome in outcomes) == ["ApplicationError", "NoneType"], outcomes
        left = Pin.objects.filter(pk=placed.pk).first()
        assert (left is None) == (outcomes[1] is None)
        assert left is None or left.reply == "Fixed"


@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_remove_removes_once_and_never_fails():
    order = delivered_order()
    placed = pin(order)

    outcomes = race(lambda: pin_delete(pin=placed, by=order.employer),
                    lambda: pin_delete(pin=placed, by=order.employer))

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["ApplicationError", "NoneType"], outcomes
    assert not Pin.objects.exists()


# --- markup in everything a person writes ----------------------------------------------------------


def test_markup_in_pins_replies_and_file_names_is_escaped_everywhere(client):
    order = make_order(files=[stl_upload("scan.stl")])
    from orders.services import order_accept, order_deliver

    order = order_accept(order=order, by=order.freelancer)
    order_deliver(order=order, by=order.freelancer, files=[stl_upload('a"><svg onload=alert(3)>.stl')])
    order.refresh_from_db()
    stored = design(order)
    first = pin(order, text=XSS, file=stored)
    second = pin(order, text=XSS + " second", file=stored)
    pin_resolve(pin=second, by=order.freelancer, reply=XSS)
    pin(order, text="", point=[0, 0, 0], end=[1, 1, 1], file=stored)
    client.force_login(order.employer)

    pages = {
        "review": client.get(review_url(order, stored)).content.decode(),
        "fragment": post_htmx(client, add_url(order, stored), {**FORM, "text": ""}).content.decode(),
        "compare": client.get(compare_url(order)).content.decode(),
        "detail": client.get(reverse("orders:detail", args=[order.pk])).content.decode(),
    }
    for where, page in pages.items():
        assert "<script>alert(1)" not in page, where
        assert "<img src=x" not in page, where
        assert "<svg onload" not in page, where
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["review"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["detail"]  # the revision form's checkbox label
    assert 'data-testid="revision-pins"' in pages["detail"]

    mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        order_request_revision(order=order, by=order.employer, message="See <b>pins</b>", pins=[first])
    [email] = mail.outbox
    html_part = next(content for content, kind in email.alternatives if kind == "text/html")
    assert "<script>alert(1)" not in html_part and "<img src=x" not in html_part
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_part
    assert "<script>alert(1)</script>" in email.body  # the text part is plain text, shown as written


def test_the_scripts_never_build_html_from_the_page():
    """review.js and compare.js read pins, names and labels from data-* attributes: they must only
    ever reach the page as text (textContent, attributes), never as HTML."""
    from pathlib import Path

    from django.conf import settings

    # Every module of the review and compare pages (preview.js builds its dialog from a fixed
    # template and reads nothing from the page into it).
    scripts = sorted(path for path in (Path(settings.BASE_DIR) / "static/js/previews").glob("*.js")
                     if path.name != "preview.js")
    assert {"review.js", "review-markers.js", "review-form.js", "compare.js"} <= {path.name for path in scripts}
    for path in scripts:
        name, source = path.name, path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                     "setAttribute(\"style\"", ".cssText"):
            assert sink not in source, (name, sink)


# --- the htmx and no-JavaScript paths -------------------------------------------------------------


def test_without_javascript_each_form_redirects_on_success_and_shows_the_page_on_error(client):
    order = delivered_order()
    placed, mine = pin(order, by=order.freelancer), pin(order, by=order.employer)
    client.force_login(order.employer)

    empty = client.post(resolve_url(order, placed.number), {"reply": ""})
    resolved = client.post(resolve_url(order, placed.number), {"reply": "Checked: fine"})
    again = client.post(resolve_url(order, placed.number), {"reply": "Once more"})
    removed = client.post(delete_url(order, mine.number))

    assert empty.status_code == 200 and "Write a reply saying what was done about it." in empty.content.decode()
    assert "<!DOCTYPE html>" in empty.content.decode()  # the whole page, not the fragment
    assert (resolved.status_code, resolved["Location"]) == (302, review_url(order))
    assert again.status_code == 200 and "Pin 1 is already resolved." in again.content.decode()
    assert (removed.status_code, removed["Location"]) == (302, review_url(order))
    assert client.get(review_url(order)).status_code == 200
    placed.refresh_from_db()
    assert placed.reply == "Checked: fine" and not Pin.objects.filter(pk=mine.pk).exists()


def test_htmx_gets_the_fragment_alone_for_every_outcome(client):
    order = delivered_order()
    placed = pin(order)
    client.force_login(order.employer)

    for response in (post_htmx(client, add_url(order), FORM),
                     post_htmx(client, add_url(order), {**FORM, "point": ""}),
                     post_htmx(client, resolve_url(order, placed.number), {"reply": ""}),
                     post_htmx(client, resolve_url(order, placed.number), {"reply": "ok"}),
                     post_htmx(client, resolve_url(order, placed.number), {"reply": "again"}),
                     post_htmx(client, delete_url(order, placed.number))):
        body = response.content.decode()
        assert response.status_code == 200 and body.startswith('<section id="pins"') and "<html" not in body
        assert "Cache-Control" in response and "no-store" in response["Cache-Control"]



# --- how many ------------------------------------------------------------------------------------


def test_a_file_takes_a_bounded_number_of_pins(client, monkeypatch):
    """Without a bound, one party's script could pile thousands of pins onto the other's review
    page, order page, revision form and e-mail."""
    monkeypatch.setattr("orders.pin_services.MAX_PINS_PER_FILE", 3)
    order = delivered_order()
    scan = order.files.get(name="scan.stl")
    for _ in range(3):
        pin(order)
    client.force_login(order.freelancer)

    body = post_htmx(client, add_url(order), FORM).content.decode()

    assert "This file has 3 pins, as many as one file takes." in body
    assert Pin.objects.count() == 3
    assert pin(order, file=scan).number == 4  # another file of the order still takes its own


def test_a_removed_pins_number_is_never_given_to_another_pin():
    """The other party's page still shows "pin 2" with its resolve form: if the author removes
    pin 2 and places a new one, that form must not answer the new pin under the old one's number."""
    order = delivered_order()
    pin(order, text="Margin open")
    removed = pin(order, text="Contact light")
    pin_delete(pin=removed, by=order.employer)

    placed = pin(order, text="Something else entirely")

    assert placed.number == 3

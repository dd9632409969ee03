"""Design review on the model: pins belong to a 3D file of their order, are numbered once per
order, go with a revision request to the next delivery, are resolved with a reply, and are
seen and written only by those who may (the order's parties; staff read)."""

import html
import json
import math
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError
from orders.models import Order, Pin
from orders.pin_selectors import pin_on_file, pins_on_file, pins_sendable_with_revision, with_pin_counts
from orders.pin_services import pin_create, pin_delete, pin_resolve
from orders.services import order_accept, order_complete, order_deliver, order_request_revision
from orders.tests.helpers import make_order, race, stl_upload

pytestmark = pytest.mark.django_db
S = Order.Status

CAMERA = {"position": [0, -40, 30], "target": [1, 2, 3], "up": [0, 0, 1]}


def delivered_order(**kwargs):
    """An order whose designer delivered design.stl (and a PDF) once, with revisions left."""
    order = make_order(files=[stl_upload("scan.stl")], **kwargs)
    order = order_accept(order=order, by=order.freelancer)
    order_deliver(order=order, by=order.freelancer, files=[
        stl_upload("design.stl"), SimpleUploadedFile("report.pdf", b"%PDF-1.4 report")])
    order.refresh_from_db()
    return order


def design(order, number=1):
    return order.files.get(delivery__number=number, name__endswith=".stl")


def pin(order, *, by=None, text="Margin open here", file=None, **kwargs):
    values = {"point": [1, 2, 3], "normal": [0, 0, 2], "camera": CAMERA, **kwargs}
    return pin_create(file=file or design(order), by=by or order.employer, text=text, **values)


def redeliver(order, name="design-v2.stl"):
    order_deliver(order=order, by=order.freelancer, files=[stl_upload(name)])
    order.refresh_from_db()
    return order


# --- the model and its services -------------------------------------------------------------


def test_either_party_pins_a_point_numbered_once_per_order_across_files():
    order = delivered_order()
    scan = order.files.get(name="scan.stl")

    first = pin(order, by=order.employer)
    second = pin(order, by=order.freelancer, file=scan, text="Prep margin unclear", point=[4.5, -1, 0.25])

    assert (first.number, second.number) == (1, 2)
    assert first.file == design(order) and second.file == scan
    assert first.normal == [0, 0, 1]  # stored as a unit vector
    assert first.camera == {"position": [0, -40, 30], "target": [1, 2, 3], "up": [0, 0, 1]}
    assert second.point == [4.5, -1.0, 0.25]
    assert not first.is_resolved and first.revision is None


def test_a_measurement_keeps_both_points_and_its_length_without_text():
    order = delivered_order()

    measured = pin(order, text="", point=[0, 0, 0], end=[3, 4, 0])

    assert measured.kind == Pin.Kind.MEASUREMENT
    assert measured.end == [3, 4, 0]
    assert measured.length_mm == 5.0


@pytest.mark.parametrize(("changes", "message"), [
    ({"text": "   "}, "Write what the pin is about."),
    ({"text": "x" * 2001}, "Keep it under 2000 characters"),
    ({"point": [1, 2]}, "The position of the pin was not understood"),
    ({"point": [1, 2, math.nan]}, "The position of the pin was not understood"),
    ({"point": [1, 2, math.inf]}, "The position of the pin was not understood"),
    ({"point": [1, 2, 1e9]}, "The position of the pin was not understood"),
    ({"point": ["1", "two", "3"]}, "The position of the pin was not understood"),
    ({"normal": [0, 0, 0]}, "The direction of the pin was not understood"),
    ({"camera": "front"}, "The view of the pin was not understood"),
    ({"camera": {"position": [0, 0, 1], "target": [0, 0, 1]}}, "The view of the pin was not understood"),
    ({"camera": {"position": [0, 0, 1]}}, "The view of the pin was not understood"),
    ({"text": "", "end": [1, 2, 3]}, "Pick two different points"),
    ({"end": [1, 2]}, "The second point of the pin was not understood"),
])
def test_a_pin_that_does_not_make_sense_is_refused_and_nothing_is_stored(changes, message):
    order = delivered_order()

    with pytest.raises(ApplicationError, match=message):
        pin(order, **changes)

    assert not Pin.objects.exists()


def test_pins_go_only_on_the_orders_own_stored_3d_files():
    order = delivered_order()
    other = delivered_order()
    pdf = order.files.get(name="report.pdf")
    gone = order.files.get(name="scan.stl")
    gone.deleted_at = gone.created_at
    gone.save(update_fields=["deleted_at"])

    for file in (pdf, gone):
        with pytest.raises(ApplicationError, match="Pins go on the order's STL, PLY and OBJ files"):
            pin(order, file=file)
    # Another order's file belongs to that order, where this client is nobody.
    with pytest.raises(ApplicationError, match="Only the client and the designer"):
        pin(order, file=design(other))
    assert not Pin.objects.exists()


def test_only_the_parties_may_pin_and_only_while_the_work_is_open():
    order = delivered_order()
    for outsider in (make_user(), make_user(is_staff=True)):
        with pytest.raises(ApplicationError, match="Only the client and the designer"):
            pin(order, by=outsider)

    unpaid = make_order(files=[stl_upload("scan.stl")], authorized=False)
    with pytest.raises(ApplicationError, match="waiting for payment: its pins can be read, not changed"):
        pin(unpaid, file=unpaid.files.get())

    order_complete(order=order, by=order.employer)
    with pytest.raises(ApplicationError, match="completed: its pins can be read, not changed"):
        pin(order)
    assert not Pin.objects.exists()


def test_either_party_resolves_a_pin_once_with_a_reply():
    order = delivered_order()
    placed = pin(order)

    with pytest.raises(ApplicationError, match="Write a reply"):
        pin_resolve(pin=placed, by=order.freelancer, reply="  ")
    with pytest.raises(ApplicationError, match="Only the client and the designer"):
        pin_resolve(pin=placed, by=make_user(is_staff=True), reply="done")
    resolved = pin_resolve(pin=placed, by=order.freelancer, reply="Margin closed")

    assert resolved.is_resolved and resolved.resolved_by == order.freelancer and resolved.reply == "Margin closed"
    with pytest.raises(ApplicationError, match="Pin 1 is already resolved"):
        pin_resolve(pin=placed, by=order.employer, reply="again")
    resolved.refresh_from_db()
    assert resolved.reply == "Margin closed"


@pytest.mark.django_db(transaction=True)
def test_two_resolutions_at_once_leave_one_reply():
    order = delivered_order()
    placed = pin(order)

    outcomes = race(lambda: pin_resolve(pin=placed, by=order.freelancer, reply="from the designer"),
                    lambda: pin_resolve(pin=placed, by=order.employer, reply="from the lab"))

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["ApplicationError", "NoneType"]
    placed.refresh_from_db()
    assert placed.reply in ("from the designer", "from the lab")


@pytest.mark.django_db(transaction=True)
def test_two_pins_placed_at_once_get_different_numbers():
    order = delivered_order()

    outcomes = race(lambda: pin(order, by=order.employer), lambda: pin(order, by=order.freelancer))

    assert outcomes == [None, None]
    assert sorted(Pin.objects.values_list("number", flat=True)) == [1, 2]


def test_only_the_author_removes_a_pin_and_only_before_anyone_acted_on_it():
    order = delivered_order()
    mine, answered, sent = pin(order), pin(order), pin(order)
    pin_resolve(pin=answered, by=order.freelancer, reply="done")
    order = order_request_revision(order=order, by=order.employer, message="See pin 3", pins=[sent])

    with pytest.raises(ApplicationError, match="Only the person who placed a pin"):
        pin_delete(pin=mine, by=order.freelancer)
    for kept in (answered, sent):
        with pytest.raises(ApplicationError, match="stays\\. Resolve it instead"):
            pin_delete(pin=kept, by=order.employer)
    pin_delete(pin=mine, by=order.employer)

    assert list(Pin.objects.values_list("number", flat=True)) == [2, 3]


# --- revision requests and the next delivery ----------------------------------------------------


def test_a_revision_request_carries_its_pins_to_the_next_delivery():
    order = delivered_order()
    first, second = pin(order, text="Margin open"), pin(order, text="Contact light on 26 mesial")
    kept_back = pin(order, text="Just a note")
    mail.outbox.clear()

    with TestCase.captureOnCommitCallbacks(execute=True):
        order = order_request_revision(order=order, by=order.employer, message="Two things, see the pins",
                                       pins=[first, second])

    event = order.events.latest("pk")
    assert set(event.pins.all()) == {first, second}
    assert Pin.objects.get(pk=kept_back.pk).revision is None
    [email] = mail.outbox
    assert "Pinned on the model (2)" in email.body
    assert "1. Margin open" in email.body and "2. Contact light on 26 mesial" in email.body
    assert "Just a note" not in email.body

    # The designer's next delivery shows the two pins, carried; the first delivery keeps all three.
    order = redeliver(order)
    shown = pins_on_file(design(order, 2))
    assert [(p.number, p.carried) for p in shown] == [(1, True), (2, True)]
    assert [p.number for p in pins_on_file(design(order, 1))] == [1, 2, 3]
    assert pin_on_file(design(order, 2), 1) == first
    # Only the next delivery: pins on a case file or on a later delivery's file are their own.
    assert pins_on_file(order.files.get(name="scan.stl")) == []
    pin_resolve(pin=first, by=order.freelancer, reply="Closed")
    order = order_request_revision(order=order, by=order.employer, message="Once more")
    order = redeliver(order, name="design-v3.stl")
    assert pins_on_file(design(order, 3)) == []


def test_a_pin_placed_on_the_delivery_while_its_revision_is_worked_on_goes_with_that_request():
    order = delivered_order()
    sent = pin(order, text="Margin open")
    order = order_request_revision(order=order, by=order.employer, message="see pin 1", pins=[sent])
    late = pin(order, text="And the contact on 26 is light too")
    designers = pin(order, by=order.freelancer, text="Working on it")
    on_scan = pin(order, file=order.files.get(name="scan.stl"), text="Scan note")

    sent.refresh_from_db()
    assert late.revision == sent.revision is not None
    assert designers.revision is None and on_scan.revision is None
    order = redeliver(order)
    assert [p.number for p in pins_on_file(design(order, 2))] == [1, 2]
    # Once the next delivery is in, a pin on the older one is its own again.
    older = pin(order, text="Old note")
    assert older.revision is None and older.number == 5


def test_only_open_unsent_pins_of_the_latest_delivery_can_go_with_a_request():
    order = delivered_order()
    on_scan = pin(order, file=order.files.get(name="scan.stl"))
    resolved = pin(order)
    pin_resolve(pin=resolved, by=order.freelancer, reply="done")
    sent = pin(order)
    order = order_request_revision(order=order, by=order.employer, message="see pin", pins=[sent])
    order = redeliver(order)
    fresh = pin(order, file=design(order, 2))

    assert list(pins_sendable_with_revision(order)) == [fresh]
    for stale in (on_scan, resolved, sent):
        with pytest.raises(ApplicationError, match="resolved, removed or already sent meanwhile"):
            order_request_revision(order=order, by=order.employer, message="again", pins=[stale, fresh])
    order.refresh_from_db()
    assert order.status == S.DELIVERED and order.revisions_used == 1
    assert Pin.objects.get(pk=fresh.pk).revision is None


def test_pin_counts_on_the_order_page_include_the_carried_pins():
    order = delivered_order()
    first = pin(order)
    pin(order)
    order = order_request_revision(order=order, by=order.employer, message="see pin 1", pins=[first])
    order = redeliver(order)
    pin_resolve(pin=first, by=order.freelancer, reply="done")
    files = with_pin_counts(order, list(order.files.select_related("delivery")))

    counts = {file.name: getattr(file, "pin_count", None) for file in files}
    assert (counts["design.stl"].total, counts["design.stl"].open) == (2, 1)
    assert (counts["design-v2.stl"].total, counts["design-v2.stl"].open) == (1, 0)
    assert (counts["scan.stl"].total, counts["scan.stl"].open) == (0, 0)
    assert counts["report.pdf"] is None


# --- the pages: who sees and writes what ------------------------------------------------------


def review_url(order, file=None):
    return reverse("orders:review", args=[order.pk, (file or design(order)).pk])


def add_url(order, file=None):
    return reverse("orders:pin_add", args=[order.pk, (file or design(order)).pk])


FORM = {"kind": "comment", "point": "1.5,2,-3.25", "normal": "0,0,1", "camera": json.dumps(CAMERA),
        "text": "Open margin distal"}


def test_the_review_page_lists_the_pins_with_what_the_viewer_needs(client):
    order = delivered_order()
    pin(order, text="Open margin <b>distal</b>")
    pin(order, text="", point=[0, 0, 0], end=[3, 4, 0])
    client.force_login(order.freelancer)

    page = client.get(review_url(order)).content.decode()

    assert f'data-mesh-url="/orders/{order.pk}/files/{design(order).pk}/?inline=1"' in page
    assert 'data-max-triangles="3000000"' in page and 'data-can-pin="1"' in page
    assert 'id="pin-1"' in page and 'data-point="1.0,2.0,3.0"' in page and 'data-normal="0.0,0.0,1.0"' in page
    assert "Open margin &lt;b&gt;distal&lt;/b&gt;" in page  # escaped
    assert 'data-end="3.0,4.0,0.0"' in page and "5.00 mm" in page
    [camera] = re.findall(r'data-camera="([^"]*)"', page)[:1]
    assert json.loads(html.unescape(camera)) == {"position": [0, -40, 30], "target": [1, 2, 3], "up": [0, 0, 1]}
    assert "js/previews/review.js" in page


def test_review_pages_and_pins_are_404_to_everyone_but_the_parties_and_staff(client):
    order = delivered_order()
    placed = pin(order)
    other = delivered_order()
    pdf = order.files.get(name="report.pdf")
    urls = [review_url(order), reverse("orders:compare", args=[order.pk])]
    posts = [add_url(order), reverse("orders:pin_resolve", args=[order.pk, design(order).pk, placed.number]),
             reverse("orders:pin_delete", args=[order.pk, design(order).pk, placed.number])]

    assert client.get(urls[0]).status_code == 302  # sign in first
    client.force_login(make_user())
    assert all(client.get(url).status_code == 404 for url in urls)
    assert all(client.post(url, {**FORM, "reply": "x"}).status_code == 404 for url in posts)
    client.force_login(order.employer)
    assert client.get(reverse("orders:review", args=[order.pk, pdf.pk])).status_code == 404  # not 3D
    assert client.get(reverse("orders:review", args=[order.pk, design(other).pk])).status_code == 404
    assert client.get(reverse("orders:review", args=[other.pk, design(order).pk])).status_code == 404
    assert client.post(reverse("orders:pin_add", args=[order.pk, design(other).pk]), FORM).status_code == 404
    assert client.post(reverse("orders:pin_resolve", args=[order.pk, design(order).pk, 99]),
                       {"reply": "x"}).status_code == 404
    for viewer in (order.employer, order.freelancer, make_user(is_staff=True)):
        client.force_login(viewer)
        assert all(client.get(url).status_code == 200 for url in urls)
    placed.refresh_from_db()
    assert Pin.objects.count() == 1 and not placed.is_resolved


def test_staff_read_the_pins_but_do_not_write_them(client):
    order = delivered_order()
    pin(order)
    client.force_login(make_user(is_staff=True))

    page = client.get(review_url(order)).content.decode()
    response = client.post(add_url(order), FORM)

    assert 'data-can-pin="0"' in page and "data-pin-form" not in page and 'id="pin-1"' in page
    assert "Resolve with a reply" not in page
    assert "Only the client and the designer of this order can pin comments." in response.content.decode()
    assert Pin.objects.count() == 1


def test_a_pin_added_with_htmx_comes_back_in_the_fragment(client):
    order = delivered_order()
    client.force_login(order.employer)

    response = client.post(add_url(order), FORM, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert response.status_code == 200 and body.startswith('<section id="pins"')
    assert 'id="pin-1"' in body and "Open margin distal" in body
    assert "<form class=\"pin-form card card-body mb-3\" data-pin-form" in body and " hidden>" in body
    placed = Pin.objects.get()
    assert placed.point == [1.5, 2.0, -3.25] and placed.author == order.employer


def test_a_pin_without_javascript_redirects_back_to_the_page(client):
    order = delivered_order()
    client.force_login(order.freelancer)

    response = client.post(add_url(order), FORM)

    assert response.status_code == 302 and response["Location"] == review_url(order)
    assert Pin.objects.get().author == order.freelancer


@pytest.mark.parametrize(("changes", "message"), [
    ({"point": ""}, "Click the model where the pin goes first."),
    ({"point": "1,2"}, "The pin&#x27;s position was not understood. Click the model again."),
    ({"point": "1,2,nan"}, "The pin&#x27;s position was not understood. Click the model again."),
    ({"normal": "a,b,c"}, "The pin&#x27;s position was not understood. Click the model again."),
    ({"camera": "{not json"}, "The pin&#x27;s view was not understood. Click the model again."),
    ({"camera": "[1, 2]"}, "The view of the pin was not understood. Click the model again."),
    ({"text": ""}, "Write what the pin is about."),
    ({"kind": "arrow"}, "Select a valid choice."),
    ({"kind": "measurement", "end": ""}, "Pick the second point of the measurement."),
    ({"point": "1,2,3e9"}, "The position of the pin was not understood. Click the model again."),
])
def test_a_tampered_pin_form_says_what_is_wrong_and_stores_nothing(client, changes, message):
    order = delivered_order()
    client.force_login(order.employer)

    response = client.post(add_url(order), {**FORM, **changes}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert response.status_code == 200 and message in body
    assert "data-pin-form" in body and 'data-pin-form method="post"' in body
    assert " hidden>" not in body.split("data-pin-form", 1)[1].split("</form>")[0].split(">")[0] + ">"
    assert not Pin.objects.exists()


def test_resolving_from_the_page_and_refusals_shown_in_the_fragment(client):
    order = delivered_order()
    placed = pin(order)
    url = reverse("orders:pin_resolve", args=[order.pk, design(order).pk, placed.number])
    client.force_login(order.freelancer)

    empty = client.post(url, {"reply": " "}, HTTP_HX_REQUEST="true").content.decode()
    done = client.post(url, {"reply": "Margin closed"}, HTTP_HX_REQUEST="true").content.decode()
    again = client.post(url, {"reply": "twice"}, HTTP_HX_REQUEST="true").content.decode()

    assert "Write a reply saying what was done about it." in empty
    assert 'data-resolved="1"' in done and "Margin closed" in done
    assert "Resolve with a reply" not in again  # the form is gone once resolved
    placed.refresh_from_db()
    assert placed.reply == "Margin closed"


def test_a_carried_pin_is_resolved_from_the_next_deliverys_page(client):
    order = delivered_order()
    placed = pin(order)
    order = order_request_revision(order=order, by=order.employer, message="see pin 1", pins=[placed])
    order = redeliver(order)
    client.force_login(order.freelancer)

    page = client.get(review_url(order, design(order, 2))).content.decode()
    client.post(reverse("orders:pin_resolve", args=[order.pk, design(order, 2).pk, 1]), {"reply": "Closed in v2"})

    assert 'data-carried="1"' in page and "placed on design.stl" in page
    placed.refresh_from_db()
    assert placed.reply == "Closed in v2"


def test_removing_someone_elses_pin_is_refused_with_a_message(client):
    order = delivered_order()
    placed = pin(order, by=order.employer)
    client.force_login(order.freelancer)

    body = client.post(reverse("orders:pin_delete", args=[order.pk, design(order).pk, placed.number]),
                       HTTP_HX_REQUEST="true").content.decode()

    assert "Only the person who placed a pin can remove it." in body
    assert Pin.objects.count() == 1


def test_the_order_page_offers_the_review_and_sends_chosen_pins_with_the_revision(client):
    order = delivered_order()
    first, second = pin(order, text="Margin open"), pin(order, text="Contact light")
    client.force_login(order.employer)

    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "Review in 3D · 2 pins, 2 open" in page
    assert 'data-testid="revision-pins"' in page and "1. Margin open — design.stl" in page
    response = client.post(reverse("orders:act", args=[order.pk, "request_revision"]),
                           {"message": "See pin 2", "pins": [second.pk]})

    assert response.status_code == 302
    assert Pin.objects.get(pk=second.pk).revision is not None and Pin.objects.get(pk=first.pk).revision is None
    timeline = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "(with pin 2)" in timeline


def test_a_tampered_pin_in_the_revision_form_changes_nothing(client):
    order = delivered_order()
    other = delivered_order()
    foreign = pin(other)
    client.force_login(order.employer)

    response = client.post(reverse("orders:act", args=[order.pk, "request_revision"]),
                           {"message": "See the pin", "pins": [foreign.pk]}, follow=True)

    assert f"Pin {foreign.pk} cannot go with this request" in response.content.decode()
    order.refresh_from_db()
    assert order.status == S.DELIVERED and order.revisions_used == 0
    assert Pin.objects.get(pk=foreign.pk).revision is None


def test_the_review_page_queries_do_not_grow_with_the_pins(client, django_assert_max_num_queries):
    order = delivered_order()
    pin(order)
    client.force_login(order.employer)
    client.get(review_url(order))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(review_url(order))
    for _ in range(9):
        pin(order, by=order.freelancer)
    with django_assert_max_num_queries(len(one)):
        client.get(review_url(order))


def test_compare_pairs_a_delivery_with_the_one_before_and_checks_the_choice(client):
    order = delivered_order()
    order = order_request_revision(order=order, by=order.employer, message="again")
    order = redeliver(order)
    client.force_login(order.employer)
    compare = reverse("orders:compare", args=[order.pk])

    page = client.get(compare, {"delivery": 2}).content.decode()
    chosen = client.get(compare, {"a": order.files.get(name="scan.stl").pk, "b": design(order, 2).pk})

    assert 'data-compare-file="a"' in page and 'data-mesh-name="design.stl"' in page
    assert 'data-mesh-name="design-v2.stl"' in page and "Revision 1 · design-v2.stl" in page
    assert 'data-mesh-name="scan.stl"' in chosen.content.decode()
    pdf = order.files.get(name="report.pdf")
    assert client.get(compare, {"a": pdf.pk, "b": design(order, 2).pk}).status_code == 404
    assert client.get(compare, {"a": "x", "b": design(order, 2).pk}).status_code == 404
    only_one = make_order(files=[stl_upload("scan.stl")])
    client.force_login(only_one.employer)
    assert client.get(reverse("orders:compare", args=[only_one.pk])).status_code == 404

import struct
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command

from accounts.models import DocumentAccess, Profile, User, VerificationRequest
from cadcam.construction_info import blank_patient_data
from listings.contacts import contacts_of
from listings.forms import ListingForm
from listings.models import CadSoftware, Category, Listing
from orders.models import Delivery, Order, OrderEvent, OrderFile, Pin

pytestmark = pytest.mark.django_db

COUNTED = [User, EmailAddress, Profile, VerificationRequest, DocumentAccess, Category, CadSoftware, Order, OrderEvent,
           OrderFile, Delivery, Pin]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def assert_demo_orders() -> None:
    """Five orders from the demo lab to the demo designer: one in each step, each with an STL case,
    and one withdrawn long enough ago that its case file is deleted (the row stays)."""
    orders = Order.objects.filter(employer__username="employer", freelancer__username="freelancer",
                                  instructions__startswith="Lab ref BSL-")
    assert sorted(order.status for order in orders) == ["accepted", "completed", "delivered", "requested",
                                                        "withdrawn"]
    withdrawn = orders.get(status="withdrawn").files.get()
    assert withdrawn.name == "case-46.stl" and not withdrawn.file and withdrawn.deleted_at and withdrawn.size
    for order in orders.exclude(status="withdrawn"):
        assert order.listing.owner == order.freelancer and not order.listing.is_private
        case_files = order.files.filter(delivery__isnull=True, name__startswith="case-", name__endswith=".stl")
        assert len(case_files) == 1, order
        with case_files[0].file.open("rb") as stl:
            data = stl.read()
        triangles = int.from_bytes(data[80:84], "little")
        assert len(data) == 84 + 50 * triangles and 1000 <= triangles <= 3000  # a binary STL, a small mesh
        if order.status in {"delivered", "completed"}:
            deliveries = order.deliveries.all()
            assert deliveries and all(d.files.filter(name__startswith="design-").exists() for d in deliveries)
    assert orders.get(status="completed").revisions_used == 1
    exocad = orders.get(status="delivered").files.get(name="case-14-16.constructionInfo")
    with exocad.file.open("rb") as stored:
        original = stored.read()
    assert exocad.hide_patient_data and exocad.uploaded_by.username == "employer"
    assert b"Keller" in original and b"Keller" not in blank_patient_data(original)  # what the designer gets
    assert_demo_pins(orders)


def triangle_centres(stored: OrderFile) -> list[tuple[float, ...]]:
    with stored.file.open("rb") as stl:
        data = stl.read()
    count = int.from_bytes(data[80:84], "little")
    centres = []
    for i in range(count):
        values = struct.unpack_from("<12f", data, 84 + 50 * i)
        centres.append(tuple(sum(values[3 + axis::3]) / 3 for axis in range(3)))
    return centres


def assert_demo_pins(orders) -> None:
    """The delivered order carries two open comments the lab pinned on the design; the completed
    one two pins sent with its revision and resolved by the designer. Each sits on the mesh."""
    delivered = orders.get(status="delivered")
    pins = list(delivered.pins.select_related("file", "author"))
    assert [(p.number, p.kind, p.author.username, p.is_resolved) for p in pins] == [
        (1, "comment", "employer", False), (2, "comment", "employer", False)]
    assert {p.file.name for p in pins} == {"design-14-16.stl"}
    centres = triangle_centres(pins[0].file)
    for pin in pins:
        assert min(sum((a - b) ** 2 for a, b in zip(pin.point, c, strict=True)) for c in centres) < 1e-6
    completed = orders.get(status="completed")
    pins = list(completed.pins.select_related("revision", "resolved_by"))
    assert len(pins) == 2 and all(p.revision and p.is_resolved and p.resolved_by.username == "freelancer"
                                  for p in pins)
    assert {p.kind for p in pins} == {"comment", "measurement"} and 5 < pins[1].length_mm < 8


def assert_demo_money_and_dispute() -> None:
    """The designer's payouts are connected with months of paid cases; every cent reconciles;
    one dispute waits for staff."""
    from disputes.models import Dispute
    from payments.reconcile import reconcile
    from payouts.models import Payout, PayoutAccount
    from payouts.selectors import earnings_by_month

    freelancer = User.objects.get(username="freelancer")
    assert PayoutAccount.objects.get(user=freelancer).state == PayoutAccount.State.ENABLED
    history = Order.objects.filter(freelancer=freelancer, instructions__startswith="Lab ref HIST-")
    assert history.count() == 11 and {order.status for order in history} == {"completed"}
    statuses = set(Payout.objects.filter(order__in=history).values_list("status", flat=True))
    assert {"paid", "clearing"} <= statuses
    months_with_earnings = [month for month in earnings_by_month(freelancer) if month.earned_cents]
    assert len(months_with_earnings) >= 6
    assert reconcile().problems == []
    dispute = Dispute.objects.get(status="open")
    assert dispute.order.status == "disputed" and dispute.order.employer.username == "employer"


def assert_demo_private_offer_is_choosable() -> None:
    """The designer's private offer is for the demo lab, whom she has talked to (the demo
    conversation): the listing form accepts the lab as its client and its search finds them."""
    freelancer, employer = User.objects.get(username="freelancer"), User.objects.get(username="employer")
    offer = Listing.objects.get(owner=freelancer, is_private=True, edit_of__isnull=True)
    assert list(offer.recipients.all()) == [employer]
    assert employer in contacts_of(freelancer)
    field = ListingForm(instance=offer, owner=freelancer).fields["recipients"]
    assert list(field.clean([str(employer.pk)])) == [employer]


def test_seed_demo_twice_gives_the_same_rows(capsys):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")

    assert counts() == first
    assert first["User"] == 6
    assert Profile.objects.filter(verified_at__isnull=False).count() == 3
    assert VerificationRequest.objects.filter(status="pending").count() == 1
    assert first["Category"] >= 11
    assert first["CadSoftware"] >= 11
    assert Order.objects.filter(instructions__startswith="Lab ref BSL-").count() == 5
    # Staff opened each approved request's ID document before deciding: on record.
    assert set(DocumentAccess.objects.values_list("viewed_by__username", "request__status")) == {
        ("staff", "approved")}
    assert DocumentAccess.objects.count() == 3
    assert_demo_orders()
    assert_demo_money_and_dispute()
    assert_demo_private_offer_is_choosable()
    assert "freelancer@cadcam.test" in capsys.readouterr().out


def test_demo_logins_work_with_verified_email(client):
    call_command("seed_demo")

    for email in ["staff@cadcam.test", "freelancer@cadcam.test", "employer@cadcam.test"]:
        assert EmailAddress.objects.get(email=email).verified
        response = client.post("/accounts/login/", {"login": email, "password": "cadcam-demo"})
        assert response.status_code == 302
        assert response["Location"] == "/"
        client.logout()
    assert User.objects.get(email="staff@cadcam.test").is_staff


def test_seed_demo_in_stripe_mode_seeds_what_needs_no_card_and_leaves_no_payment_behind(stripe_client):
    def payment_intents_at_localstripe() -> int:  # shared by the session's tests: count, not list
        return stripe_client.v1.payment_intents.list().total_count

    before = payment_intents_at_localstripe()
    out = StringIO()
    call_command("seed_demo", stdout=out)

    assert not Order.objects.exists()
    assert payment_intents_at_localstripe() == before  # nothing orphaned at the gateway
    assert User.objects.filter(email="employer@cadcam.test").exists()
    assert "Stripe is configured: orders, the earnings history, reviews and the dispute were not seeded" in (
        out.getvalue())
    call_command("seed_demo", stdout=StringIO())  # and again: still nothing
    assert not Order.objects.exists()
    assert_demo_private_offer_is_choosable()  # from the demo conversation alone

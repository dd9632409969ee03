import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.tests.helpers import make_user
from listings.tests.helpers import make_published
from orders.models import Order
from orders.services import order_accept
from orders.tests.helpers import make_order, stl_upload

pytestmark = pytest.mark.django_db
S = Order.Status


def test_send_case_review_and_pay_with_the_simulated_gateway(client):
    listing = make_published(price_cents=1500, options=[("Express 24 h", 1500)])
    employer = make_user()
    client.force_login(employer)
    express = listing.options.get()

    response = client.post(
        reverse("orders:send_case", args=[listing.pk]),
        {
            "quantity": "2",
            "options": [express.pk],
            "instructions": "Teeth 14-16, zirconia, A2",
            "files": [stl_upload()],
        },
    )
    order = Order.objects.get()
    assert response["Location"] == reverse("orders:pay", args=[order.pk])
    review = client.get(reverse("orders:pay", args=[order.pk])).content.decode()
    assert "TEST MODE" in review
    assert "$45.00" in review  # 2 x $15.00 + $15.00
    assert "Designer receives" in review  # the review shows what the designer gets after the fee
    assert "$40.95" in review  # $45.00 - $4.05

    declined = client.post(reverse("orders:pay", args=[order.pk]), {"outcome": "decline"}, follow=True)
    assert "Your card was declined. Try another card." in declined.content.decode()
    paid = client.post(reverse("orders:pay", args=[order.pk]), {"outcome": "approve"}, follow=True)

    order.refresh_from_db()
    assert order.status == S.REQUESTED
    assert "Your card is authorized." in paid.content.decode()


def test_tampered_price_fields_are_ignored(client):
    listing = make_published(price_cents=1500)
    client.force_login(make_user())

    client.post(
        reverse("orders:send_case", args=[listing.pk]),
        {"quantity": "1", "total_cents": "1", "unit_price_cents": "1", "price": "0.01", "files": [stl_upload()]},
    )

    assert Order.objects.get().total_cents == 1500


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"quantity": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"quantity": "5000"}, "Ensure this value is less than or equal to 100."),
        ({"quantity": "1", "due_date": "2020-01-01"}, "The due date must be in the future."),
    ],
)
def test_bad_send_case_input_is_refused_with_a_message(client, data, message):
    listing = make_published()
    client.force_login(make_user())

    response = client.post(reverse("orders:send_case", args=[listing.pk]), data)

    assert message in response.content.decode()
    assert not Order.objects.exists()


def test_freelancers_cannot_order_their_own_listing(client):
    listing = make_published()
    client.force_login(listing.owner)

    response = client.get(reverse("orders:send_case", args=[listing.pk]), follow=True)

    assert "You cannot order your own service." in response.content.decode()


def test_unverified_email_is_sent_to_verify_first(client):
    from allauth.account.models import EmailAddress

    listing = make_published()
    employer = make_user()
    EmailAddress.objects.filter(user=employer).update(verified=False)
    client.force_login(employer)

    response = client.get(reverse("orders:send_case", args=[listing.pk]))

    assert response["Location"] == reverse("account_email")


def test_the_order_page_is_404_for_everyone_but_the_parties_and_staff(client):
    order = make_order()
    url = reverse("orders:detail", args=[order.pk])

    assert client.get(url).status_code == 302  # sign in first
    client.force_login(make_user())
    assert client.get(url).status_code == 404
    assert client.post(reverse("orders:act", args=[order.pk, "accept"])).status_code == 404
    for viewer in (order.employer, order.freelancer, make_user(is_staff=True)):
        client.force_login(viewer)
        assert client.get(url).status_code == 200
    order.refresh_from_db()
    assert order.status == S.REQUESTED


def test_the_freelancer_sees_fee_and_net_the_employer_does_not(client):
    order = make_order()

    client.force_login(order.freelancer)
    assert "Designer receives" in client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    client.force_login(order.employer)
    assert "Designer receives" not in client.get(reverse("orders:detail", args=[order.pk])).content.decode()


def test_actions_from_the_order_page(client):
    order = make_order()
    client.force_login(order.freelancer)

    client.post(reverse("orders:act", args=[order.pk, "accept"]))
    refused = client.post(reverse("orders:act", args=[order.pk, "deliver"]), {"note": "No files"}, follow=True)
    assert "Attach the design files to deliver." in refused.content.decode()
    client.post(
        reverse("orders:act", args=[order.pk, "deliver"]), {"note": "Designs attached", "files": [stl_upload()]}
    )
    client.force_login(order.employer)
    refused = client.post(reverse("orders:act", args=[order.pk, "request_revision"]), {"message": ""}, follow=True)
    assert "This field is required." in refused.content.decode()
    client.post(reverse("orders:act", args=[order.pk, "request_revision"]), {"message": "Thicker margin"})
    wrong = client.post(reverse("orders:act", args=[order.pk, "accept"]), follow=True)
    assert "Only the designer of this order can do that." in wrong.content.decode()

    order.refresh_from_db()
    assert order.status == S.ACCEPTED
    assert order.revisions_used == 1


def test_dashboard_lists_orders_with_my_move_first(client):
    employer = make_user()
    waiting = make_order(employer=employer)
    delivered = make_order(employer=employer)
    order_accept(order=delivered, by=delivered.freelancer)
    from orders.services import order_deliver

    order_deliver(order=delivered, by=delivered.freelancer, files=[stl_upload()])
    client.force_login(employer)

    response = client.get(reverse("dashboard"))

    sent = response.context["order_lists"][0][1]
    assert [order.pk for order in sent] == [delivered.pk, waiting.pk]
    filtered = client.get(reverse("dashboard"), {"status": "requested"}).context["order_lists"][0][1]
    assert [order.pk for order in filtered] == [waiting.pk]


def test_the_listing_page_offers_send_case_to_others_only(client):
    listing = make_published()
    send_case = reverse("orders:send_case", args=[listing.pk])

    client.force_login(make_user())
    assert send_case in client.get(listing.get_absolute_url()).content.decode()
    client.force_login(listing.owner)
    assert send_case not in client.get(listing.get_absolute_url()).content.decode()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (lambda: None, "This field is required."),
        (lambda: SimpleUploadedFile("scan.exe", b"MZ"), "scan.exe is not an accepted file type."),
        (lambda: SimpleUploadedFile("scan.stl", b"<html>not a mesh</html>"), "The content of scan.stl does not match"),
        (lambda: stl_upload("../../etc/passwd.stl"), None),
    ],
    ids=["missing", "wrong type", "spoofed", "path traversal"],
)
def test_case_files_are_checked(client, upload, message):
    listing = make_published()
    client.force_login(make_user())
    file = upload()

    response = client.post(
        reverse("orders:send_case", args=[listing.pk]), {"quantity": "1", **({"files": [file]} if file else {})}
    )

    if message:
        assert message in response.content.decode()
        assert not Order.objects.exists()
    else:
        stored = Order.objects.get().files.get()
        assert stored.name == "passwd.stl"
        assert ".." not in stored.file.name


def test_oversize_files_are_refused_before_being_stored(client, settings):
    settings.FILE_UPLOAD_PER_FILE_LIMIT = 1000
    listing = make_published()
    client.force_login(make_user())

    response = client.post(
        reverse("orders:send_case", args=[listing.pk]), {"quantity": "1", "files": [stl_upload(triangles=40)]}
    )

    body = response.content.decode()
    assert "crown.stl is larger than 1000\xa0bytes." in body
    assert "This field is required." not in body
    assert not Order.objects.exists()


def test_files_download_only_for_the_parties_and_staff(client):
    from orders.services import order_create

    order = order_create(listing=make_published(), employer=make_user(), files=[stl_upload()])
    stored = order.files.get()
    url = reverse("orders:download", args=[order.pk, stored.pk])

    client.force_login(make_user())
    assert client.get(url).status_code == 404
    client.force_login(order.freelancer)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="crown.stl"'
    assert b"".join(response.streaming_content).startswith(b"cadcam test")
    other = order_create(listing=make_published(), employer=make_user(), files=[stl_upload()])
    assert client.get(reverse("orders:download", args=[order.pk, other.files.get().pk])).status_code == 404


def test_paying_twice_does_not_fail_the_second_time(client):
    order = make_order(authorized=False)
    client.force_login(order.employer)
    url = reverse("orders:pay", args=[order.pk])
    from payments.simulated import SimulatedGateway

    SimulatedGateway().customer_pays(payment_id=order.payment_id, approve=True)  # the first click got through
    response = client.post(url, {"outcome": "approve"}, follow=True)

    assert "Your card is authorized." in response.content.decode()
    order.refresh_from_db()
    assert order.status == S.REQUESTED

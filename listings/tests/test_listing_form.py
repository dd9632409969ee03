import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts.tests.helpers import make_user
from listings.models import Listing
from listings.tests.helpers import DESCRIPTION, listing_image, make_draft, make_published, make_verified_seller

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    from listings.models import CadSoftware, Category

    data = {
        "title": "Screw-retained crown on Ti-base",
        "category": Category.objects.get(slug="implant-abutments-screw-retained-crowns").pk,
        "description": DESCRIPTION,
        "software": [CadSoftware.objects.get(slug="exocad-dentalcad").pk],
        "revisions_included": "2",
        "price_cents": "38.78",
        "is_per_unit": "on",
        "unit_name": "unit",
        "turnaround_days": "3",
        "expires_on": "",
        "options-TOTAL_FORMS": "3",
        "options-INITIAL_FORMS": "0",
        "options-0-name": "Express 24 h",
        "options-0-price_cents": "15",
        "options-1-name": "",
        "options-1-price_cents": "",
        "options-2-name": "",
        "options-2-price_cents": "",
        "action": "submit",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_creating_and_submitting_a_listing(client):
    owner = make_verified_seller()
    client.force_login(owner)

    response = client.post(
        reverse("listings:new"),
        {**form_data(), "new_images": [listing_image("a.png"), listing_image("b.jpg", fmt="JPEG")]},
        follow=True,
    )

    assert "Submitted for review." in response.content.decode()
    listing = Listing.objects.get(owner=owner)
    assert listing.status == Listing.Status.PENDING_REVIEW
    assert listing.price_cents == 3878
    assert listing.price_display == "from $38.78 per unit"
    assert [(option.name, option.price_cents) for option in listing.options.all()] == [("Express 24 h", 1500)]
    assert listing.images.count() == 2
    cover = listing.images.first()
    with Image.open(cover.thumbnail.path) as thumb:
        assert thumb.size == (640, 480)


def test_save_as_draft_then_prechecks_explain_what_is_missing(client):
    owner = make_verified_seller()
    client.force_login(owner)

    response = client.post(reverse("listings:new"), form_data(action="submit"), follow=True)

    body = response.content.decode()
    assert "Saved, but not submitted yet. Fix these first:" in body
    assert "Add at least one image (the first one is the cover)." in body
    assert Listing.objects.get(owner=owner).status == Listing.Status.DRAFT


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"price_cents": "6.99"}, "price_cents", "The price must be at least $7.00."),
        ({"price_cents": "10000.01"}, "price_cents", "The price can be at most $10,000.00."),
        ({"price_cents": "abc"}, "price_cents", "Enter a number."),
        ({"software": []}, "software", "Choose at least one CAD software you design with."),
        ({"revisions_included": "11"}, "revisions_included", "Ensure this value is less than or equal to 10."),
        ({"unit_name": ""}, "unit_name", 'Name the unit you price per (e.g. "tooth").'),
        ({"expires_on": "2020-01-01"}, "expires_on", "The expiry date must be in the future."),
        ({"is_private": "on"}, "recipients", "Choose at least one client for a private listing."),
        ({"options-0-price_cents": ""}, None, "Give the add-on's price."),
        ({"category": "999999"}, "category", "Select a valid choice."),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_is_saved(client, changes, field, message):
    client.force_login(make_verified_seller())

    response = client.post(reverse("listings:new"), form_data(**changes))

    assert response.status_code == 200
    assert message in response.content.decode().replace("&quot;", '"').replace("&#x27;", "'")
    assert not Listing.objects.exists()


def _png(size):
    buffer = io.BytesIO()
    Image.new("RGB", size).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("shot.png", b"<html>not a picture</html>"),
            "The content of shot.png does not match its file type.",
        ),
        (SimpleUploadedFile("shot.gif", b"GIF89a"), "shot.gif is not an accepted file type."),
        (
            SimpleUploadedFile("small.png", _png((640, 480))),
            "small.png is 640x480 pixels; images must be at least 800x600.",
        ),
    ],
)
def test_bad_images_are_refused(client, upload, message):
    client.force_login(make_verified_seller())

    response = client.post(reverse("listings:new"), {**form_data(), "new_images": [upload]})

    assert message in response.content.decode()
    assert not Listing.objects.exists()


def test_image_bombs_are_refused(client):
    client.force_login(make_verified_seller())
    buffer = io.BytesIO()
    Image.new("1", (10000, 9000)).save(buffer, format="PNG")

    response = client.post(
        reverse("listings:new"), {**form_data(), "new_images": [SimpleUploadedFile("bomb.png", buffer.getvalue())]}
    )

    assert "bomb.png has too many pixels to process." in response.content.decode()
    assert not Listing.objects.exists()


def test_more_than_ten_images_are_refused(client):
    owner = make_verified_seller()
    listing = make_draft(owner, images=9)
    client.force_login(owner)

    response = client.post(
        reverse("listings:edit", args=[listing.pk]),
        {**form_data(action="save"), "new_images": [listing_image("x.png"), listing_image("y.png")]},
        follow=True,
    )

    assert "A listing can have at most 10 images (9 already)." in response.content.decode()
    assert listing.images.count() == 9


def test_images_can_be_reordered_and_removed(client):
    owner = make_verified_seller()
    listing = make_draft(owner, images=3)
    first, _second, third = listing.images.all()
    client.force_login(owner)

    client.post(
        reverse("listings:edit", args=[listing.pk]),
        {**form_data(action="save"), "position_2": "1", "position_0": "2", "position_1": "3", "remove_1": "1"},
    )

    assert [image.pk for image in listing.images.all()] == [third.pk, first.pk]
    assert listing.cover.pk == third.pk


def test_removing_an_image_of_a_live_listing_applies_to_its_edit(client):
    live = make_published(images=2)
    client.force_login(live.owner)

    client.post(reverse("listings:edit", args=[live.pk]), {**form_data(action="save"), "remove_0": "1"})

    assert live.images.count() == 2
    assert Listing.objects.get(edit_of=live).images.count() == 1


def test_someone_elses_listing_cannot_be_edited_or_archived(client):
    listing = make_published()
    client.force_login(make_user())

    assert client.get(reverse("listings:edit", args=[listing.pk])).status_code == 404
    assert client.post(reverse("listings:edit", args=[listing.pk]), form_data()).status_code == 404
    assert client.post(reverse("listings:archive", args=[listing.pk])).status_code == 404
    listing.refresh_from_db()
    assert listing.status == Listing.Status.PUBLISHED


def test_editing_a_live_listing_through_the_form_starts_a_pending_edit(client):
    live = make_published()
    client.force_login(live.owner)

    response = client.post(
        reverse("listings:edit", args=[live.pk]), form_data(title="Zirconia crown design, improved"), follow=True
    )

    live.refresh_from_db()
    assert live.title == "Zirconia crown design"
    edit = Listing.objects.get(edit_of=live)
    assert edit.title == "Zirconia crown design, improved"
    assert edit.status == Listing.Status.PENDING_REVIEW
    assert "people keep seeing the approved version" in response.content.decode()


def test_dashboard_lists_my_listings_with_state_and_reason(client):
    from listings.services import listing_reject, listing_submit

    owner = make_verified_seller()
    listing = make_draft(owner, title="Night guard design")
    listing_submit(listing=listing, by=owner)
    listing_reject(listing=listing, by=make_user(is_staff=True), reason="Add a photo of a finished guard.")
    client.force_login(owner)

    body = client.get(reverse("dashboard")).content.decode()

    assert "Night guard design" in body
    assert "Rejected" in body
    assert "Add a photo of a finished guard." in body


def test_the_owner_sees_what_they_receive_after_the_fee(client):
    listing = make_published(price_cents=5050)
    client.force_login(listing.owner)

    body = client.get(listing.get_absolute_url()).content.decode()

    assert "For a single tooth at this price you receive $45.95 after the platform fee" in body
    client.force_login(make_user())
    assert 'data-testid="owner-net"' not in client.get(listing.get_absolute_url()).content.decode()


def test_archiving_asks_first(client):
    listing = make_published()
    client.force_login(listing.owner)
    url = reverse("listings:archive", args=[listing.pk])

    assert "Archive the listing" in client.get(url).content.decode()
    listing.refresh_from_db()
    assert listing.status == Listing.Status.PUBLISHED
    client.post(url)
    listing.refresh_from_db()
    assert listing.status == Listing.Status.ARCHIVED


def test_a_listing_that_is_not_live_cannot_be_saved_as_a_favorite(client):
    listing = make_draft(make_verified_seller())
    client.force_login(listing.owner)

    response = client.post(reverse("listings:favorite", args=[listing.pk]))

    assert response.status_code == 400
    assert response.content.decode() == "Only live listings can be saved."
    assert not listing.favorited_by.exists()

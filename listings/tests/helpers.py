"""Listings for tests, made through the services people use."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.services import verification_approve
from accounts.tests.helpers import make_pending_request, make_user
from listings.models import CadSoftware, Category, Listing
from listings.services import OptionData, listing_approve, listing_create, listing_submit

DESCRIPTION = (
    "Full-contour zirconia crowns designed in exocad with anatomic morphology, checked contacts and "
    "occlusion, minimum thickness respected for your material. Send an intraoral scan or model scan."
)
_phones = iter(range(901000, 999999))


def listing_image(name="shot.png", size=(1000, 750), fmt="PNG") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (230, 226, 214)).save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


def make_verified_seller(**kwargs):
    """A user whose identity staff verified (unique phone/VAT so several can exist)."""
    user = make_user(**kwargs)
    number = next(_phones)
    request = make_pending_request(user, phone=f"+4930{number}", vat_number=f"EIN{number}", country="US")
    verification_approve(request=request, by=make_user(is_staff=True))
    user.refresh_from_db()
    return user


def content(**overrides) -> dict:
    return {
        "title": "Zirconia crown design",
        "category": Category.objects.get(slug="crowns-bridges"),
        "description": DESCRIPTION,
        "revisions_included": 2,
        "price_cents": 1500,
        "is_per_unit": True,
        "unit_name": "tooth",
        "turnaround_days": 2,
        "expires_on": None,
        "is_private": False,
        **overrides,
    }


def make_draft(owner, *, software=("exocad-dentalcad",), images=1, options=(), recipients=(), **overrides) -> Listing:
    return listing_create(
        owner=owner,
        data=content(**overrides),
        software=CadSoftware.objects.filter(slug__in=software),
        options=[OptionData(name, price) for name, price in options],
        recipients=recipients,
        images=[listing_image(f"shot{n}.png") for n in range(images)],
    )


def make_published(owner=None, **kwargs) -> Listing:
    owner = owner or make_verified_seller()
    listing = make_draft(owner, **kwargs)
    listing_submit(listing=listing, by=owner)
    listing = listing_approve(listing=listing, by=make_user(is_staff=True))
    assert listing.status == Listing.Status.PUBLISHED, listing.status
    return listing

"""Staff preview an edit of a live listing as its public page would show it (issue 18)."""

import pytest
from django.urls import reverse

from accounts.tests.helpers import make_user, make_view_only_staff, sign_in_with_mfa
from cadcam.money import format_cents
from listings.models import CadSoftware
from listings.services import listing_submit, listing_update
from listings.tests.helpers import content, make_published

pytestmark = pytest.mark.django_db


@pytest.fixture
def edited():
    """A live listing and its edit, sent for review: a new title and a higher price."""
    live = make_published(title="Zirconia crown design", price_cents=1500)
    edit = listing_update(listing=live, by=live.owner, data=content(title="Zirconia crowns, now with stains",
                                                                      price_cents=1900),
                          software=CadSoftware.objects.filter(slug="exocad-dentalcad"))
    listing_submit(listing=edit, by=live.owner)
    return live, edit


def preview_url(listing) -> str:
    return reverse("admin:listings_listing_preview", args=[listing.pk])


def test_staff_see_the_pending_edit_as_buyers_will(client, edited, settings):
    settings.ADMIN_REQUIRES_MFA = True
    live, edit = edited
    staff = make_user(is_staff=True)
    sign_in_with_mfa(client, staff)

    change_form = client.get(reverse("admin:listings_listing_change", args=[edit.pk])).content.decode()
    page = client.get(preview_url(edit))

    assert preview_url(edit) in change_form
    body = page.content.decode()
    assert page.status_code == 200
    assert "Zirconia crowns, now with stains" in body and format_cents(1900) in body
    assert 'data-testid="staff-preview"' in body and "Zirconia crown design" in body  # names the live version
    assert "Send Case" not in body
    assert "Zirconia crowns, now with stains" not in client.get(live.get_absolute_url()).content.decode()


def test_nobody_else_opens_the_preview(client, edited, settings):
    settings.ADMIN_REQUIRES_MFA = True
    live, edit = edited

    assert client.get(preview_url(edit)).status_code == 302  # to the admin's sign-in
    client.force_login(live.owner)
    assert client.get(preview_url(edit)).status_code == 302
    client.force_login(make_user(is_staff=True))  # staff without the second factor: step up first
    assert "Zirconia crowns, now with stains" not in client.get(preview_url(edit)).content.decode()
    support = make_view_only_staff("user")  # staff who may not look at listings
    sign_in_with_mfa(client, support)
    assert client.get(preview_url(edit)).status_code == 403


def test_an_unknown_listing_is_404(client, settings):
    settings.ADMIN_REQUIRES_MFA = True
    sign_in_with_mfa(client, make_user(is_staff=True))

    assert client.get(reverse("admin:listings_listing_preview", args=[987654])).status_code == 404

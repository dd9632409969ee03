"""The public profile's reviews, kept as HTML per review (reviews/shown.py): whatever a review
shows changes on the very next request after the change, for every kind of change."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.services import profile_update, user_delete
from accounts.tests.helpers import PASSWORD, make_user
from listings.tests.helpers import make_published
from reviews import shown
from reviews.services import review_hide, review_reply, review_unhide
from reviews.tests.test_display import rate

pytestmark = pytest.mark.django_db


def profile_page(client, user) -> str:
    response = client.get(reverse("public_profile", args=[user.username]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def reviewed():
    listing = make_published(title="Zirconia crown design")
    (review,) = rate(listing, 4)
    return listing, review


def test_a_review_is_rendered_once_then_kept(client, reviewed):
    listing, review = reviewed
    profile_page(client, listing.owner)
    key = f"reviews:shown:{review.pk}:UTC"

    assert cache.get(key)[1].count("Rated 4 by the client") == 1
    cache.set(key, (cache.get(key)[0], '<article data-testid="review">from the cache</article>'))
    assert "from the cache" in profile_page(client, listing.owner)


def test_a_reply_a_hidden_review_and_its_return_show_at_once(client, reviewed):
    listing, review = reviewed
    assert "Reply from" not in profile_page(client, listing.owner)

    review_reply(review=review, by=listing.owner, text="Thank you, see you on the next case!")
    assert "see you on the next case" in profile_page(client, listing.owner)

    staff = make_user(is_staff=True)
    review_hide(review=review, by=staff, reason="Names a patient.")
    assert "Rated 4 by the client" not in profile_page(client, listing.owner)
    review_unhide(review=review, by=staff)
    assert "Rated 4 by the client" in profile_page(client, listing.owner)


def test_new_names_of_the_author_and_of_the_subject_show_at_once(client, reviewed):
    listing, review = reviewed
    profile_page(client, listing.owner)
    review_reply(review=review, by=listing.owner, text="Thank you, see you on the next case!")

    profile_update(profile=review.author.profile, data={"display_name": "Dental Lab Berlin"})
    profile_update(profile=listing.owner.profile, data={"display_name": "Anna the designer"})
    page = profile_page(client, listing.owner)

    assert "Dental Lab Berlin" in page
    assert "Reply from Anna the designer" in page
    user_delete(user=review.author, password=PASSWORD)
    assert "deleted user" in profile_page(client, listing.owner)


def test_a_listing_made_private_stops_naming_the_service(client, reviewed):
    listing, _ = reviewed
    assert "as designer, for Zirconia crown design" in profile_page(client, listing.owner)

    listing.is_private = True
    listing.save(update_fields=["is_private"])

    page = profile_page(client, listing.owner)
    assert "as designer, for a private service" in page
    assert "Zirconia crown design" not in page


def test_dates_follow_each_viewer_s_time_zone(client, reviewed):
    listing, review = reviewed
    review.created_at = review.created_at.replace(hour=23, minute=30)
    review.save(update_fields=["created_at"])
    anonymous = profile_page(client, listing.owner)
    tokyo = make_user()
    profile_update(profile=tokyo.profile, data={"time_zone": "Asia/Tokyo"})
    client.force_login(tokyo)

    signed_in = profile_page(client, listing.owner)

    utc_day = review.created_at.strftime("%-d %b %Y")
    assert utc_day in anonymous and utc_day not in signed_in


def test_the_token_moves_again_after_the_commit(reviewed, django_capture_on_commit_callbacks):
    listing, review = reviewed
    key = shown.token_key(listing.owner_id)
    cache.set(key, "before")

    with django_capture_on_commit_callbacks(execute=True):
        review_reply(review=review, by=listing.owner, text="Thank you, see you on the next case!")
        during = cache.get(key)

    assert during != "before" and cache.get(key) != during


def test_without_an_answering_cache_the_reviews_still_show(client, reviewed, monkeypatch):
    listing, _ = reviewed

    def broken(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(cache, "get_many", broken)
    monkeypatch.setattr(cache, "set_many", broken)
    assert "Rated 4 by the client" in profile_page(client, listing.owner)

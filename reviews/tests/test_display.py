"""Ratings and reviews where people see them: listing cards, the listing page, public
profiles, and browse's rating filter and sort, without extra queries per listing."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.helpers import make_user
from listings.models import Category, Listing
from listings.tests.helpers import make_published, make_verified_seller
from reviews.services import review_create, review_hide, review_reply
from reviews.tests.helpers import completed_order

pytestmark = pytest.mark.django_db

BROWSE = reverse("listings:browse")


def rate(listing, *ratings, designer_rating=5, employer=None):
    """One completed order per rating on the listing, both sides reviewed (so visible)."""
    reviews = []
    for rating in ratings:
        order = completed_order(listing=listing, **({"employer": employer} if employer else {}))
        reviews.append(review_create(order=order, author=order.employer, rating=rating,
                                     comment=f"Rated {rating} by the client, for the record."))
        review_create(order=order, author=order.freelancer, rating=designer_rating,
                      comment=f"Client rated {designer_rating} by the designer.")
    return reviews


def titles(response):
    assert response.status_code == 200
    return [listing.title for listing in response.context["page"].object_list]


def test_the_listing_card_shows_average_and_count(client):
    listing = make_published(title="Rated crown")
    make_published(title="Unrated crown")
    rate(listing, 5, 4, 4)

    body = client.get(BROWSE).content.decode()

    card = body[body.index("Rated crown"):body.index("Rated crown") + 1500]
    assert "4.3" in card and "(3 reviews)" in card and "out of 5" in card
    unrated = body[body.index("Unrated crown"):body.index("Unrated crown") + 800]
    assert 'data-testid="rating"' not in unrated


def test_the_listing_page_shows_its_rating_and_its_visible_reviews(client):
    listing = make_published(title="Rated crown")
    other = make_published(owner=listing.owner, title="Other service")
    shown, hidden = rate(listing, 5, 2)
    rate(other, 3)
    review_hide(review=hidden, by=make_user(is_staff=True), reason="Off topic.")
    review_reply(review=shown, by=listing.owner, text="Thank you, see you next case!")

    body = client.get(listing.get_absolute_url()).content.decode()

    assert "Rated 5 by the client" in body and "Thank you, see you next case!" in body
    assert "Rated 2 by the client" not in body  # hidden
    assert "Rated 3 by the client" not in body  # another listing's review
    assert "(1 review)" in body  # the listing: one visible review
    assert "(2 reviews)" in body  # the designer across listings: 5 and 3


def test_the_public_profile_shows_both_roles_separately_and_the_reviews(client):
    designer = make_verified_seller()
    listing = make_published(owner=designer)
    rate(listing, 5, 4)  # as designer: 4.5 from 2
    their_listing = make_published(title="Someone else's service")
    rate(their_listing, 5, designer_rating=3, employer=designer)  # as client: 3 from 1

    response = client.get(reverse("public_profile", args=[designer.username]))
    body = response.content.decode()

    as_designer = body[body.index('data-testid="rating-freelancer"'):][:600]
    as_client = body[body.index('data-testid="rating-employer"'):][:600]
    assert "4.5" in as_designer and "(2 reviews)" in as_designer
    assert "3.0" in as_client and "(1 review)" in as_client
    assert "Rated 5 by the client" in body and "Rated 4 by the client" in body
    assert "Client rated 3 by the designer" in body and "as client" in body


def test_the_public_profile_without_reviews_says_so(client):
    designer = make_verified_seller()

    body = client.get(reverse("public_profile", args=[designer.username])).content.decode()

    assert body.count("No reviews yet") == 2


def test_the_public_profile_runs_the_same_queries_for_1_or_5_reviews(client):
    listing = make_published()
    rate(listing, 5)
    url = reverse("public_profile", args=[listing.owner.username])
    client.get(url)
    cache.clear()  # both counts from a cold cache (the listing cards are kept there)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    rate(listing, 4, 3, 5, 2)
    cache.clear()

    with CaptureQueriesContext(connection) as many:
        body = client.get(url).content.decode()

    assert len(many) == len(few)
    assert body.count('data-testid="review"') == 5


# --- browse ---------------------------------------------------------------------------------------


@pytest.fixture
def rated_listings():
    """best 5.0 (1), many 4.5 (4), good 4.5 (2), ok 4.0 (1), low 3.0 (2), new (no reviews)."""
    seller = make_verified_seller()
    crowns = Category.objects.get(slug="crowns-bridges")
    made = {}
    for title, ratings in [("best", [5]), ("many", [5, 4, 5, 4]), ("good", [5, 4]), ("ok", [4]), ("low", [3, 3]),
                           ("new", [])]:
        made[title] = make_published(owner=seller, title=f"{title} crown design", category=crowns)
        rate(made[title], *ratings)
    return made


def test_best_rated_sort_orders_by_average_then_count_with_unrated_last(client, rated_listings):
    assert titles(client.get(BROWSE, {"sort": "rating"})) == [
        "best crown design", "many crown design", "good crown design", "ok crown design", "low crown design",
        "new crown design",
    ]


def test_best_rated_sort_with_words(client, rated_listings):
    assert titles(client.get(BROWSE, {"sort": "rating", "q": "crown"}))[:3] == [
        "best crown design", "many crown design", "good crown design",
    ]


@pytest.mark.parametrize(
    ("minimum", "expected"),
    [
        ("4.5", {"best", "many", "good"}),
        ("4", {"best", "many", "good", "ok"}),
        ("3", {"best", "many", "good", "ok", "low"}),
        ("", {"best", "many", "good", "ok", "low", "new"}),
        ("nonsense", {"best", "many", "good", "ok", "low", "new"}),
    ],
)
def test_minimum_rating_filter(client, rated_listings, minimum, expected):
    found = titles(client.get(BROWSE, {"min_rating": minimum}, follow=True))  # an empty one leads to /listings/

    assert {title.removesuffix(" crown design") for title in found} == expected


def test_the_rating_filter_is_offered_and_kept(client):
    body = client.get(BROWSE, {"min_rating": "4.5"}).content.decode()

    assert '<option value="4.5" selected>4.5 stars and up</option>' in body
    assert '<option value="rating">Best rated</option>' in body


def test_browse_by_rating_runs_as_many_queries_for_2_listings_as_for_a_full_page(
    client, settings, django_assert_num_queries
):
    settings.BROWSE_CACHE_SECONDS = 0  # the database's part
    seller = make_verified_seller()
    for n in range(2):
        rate(make_published(owner=seller, title=f"Crown {n}"), 5 - n)
    params = {"sort": "rating", "min_rating": "3"}
    client.get(BROWSE, params)
    with CaptureQueriesContext(connection) as few:
        assert len(titles(client.get(BROWSE, params))) == 2
    for n in range(24):
        listing = make_published(owner=seller, title=f"More {n}")
        Listing.objects.filter(pk=listing.pk).update(rating_count=n + 1, rating_avg=4)  # as the services leave it

    with django_assert_num_queries(len(few)):
        assert len(titles(client.get(BROWSE, params))) == 24


def test_a_private_listing_s_title_never_shows_on_the_public_profile(client):
    listing = make_published(title="Secret crown service for one lab")
    (review,) = rate(listing, 5)
    order = review.order
    Listing.objects.filter(pk=listing.pk).update(is_private=True)
    page = client.get(reverse("public_profile", args=[order.freelancer.username]))
    assert "for a private service" in page.text
    assert order.title not in page.text

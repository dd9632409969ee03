from decimal import Decimal

import pytest

from accounts.demo import seed_users
from listings.demo import seed_listings
from listings.models import Listing
from orders.demo import seed_orders
from reviews.demo import COMPLETED_ORDER_REF, seed_reviews
from reviews.models import Review, Role
from reviews.selectors import ratings_of

pytestmark = pytest.mark.django_db


def test_demo_reviews_are_visible_on_both_sides_and_seeded_once():
    users = seed_users()
    seed_listings(users)
    orders = seed_orders(users)

    reviews = seed_reviews(users, orders)
    assert [review.pk for review in seed_reviews(users, orders)] == [review.pk for review in reviews]

    assert Review.objects.count() == len(reviews) == 8
    assert not Review.objects.filter(visible_at__isnull=True).exists()
    completed = next(order for order in orders if order.instructions.startswith(f"Lab ref {COMPLETED_ORDER_REF}"))
    assert set(completed.reviews.values_list("author__username", flat=True)) == {"employer", "freelancer"}
    assert ratings_of(users["freelancer"])[Role.FREELANCER].count == 1
    assert ratings_of(users["employer"])[Role.EMPLOYER].count == 3
    rated = Listing.objects.filter(rating_count__gt=0).count()
    assert rated == 4
    assert Listing.objects.get(pk=completed.listing_id).rating_avg == Decimal("5.00")

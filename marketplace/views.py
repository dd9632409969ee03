"""Pages that gather what several apps hold: the home page, the signed-in user's dashboard
and public profiles."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.selectors import public_profile_for
from listings.selectors import categories_active, favorite_ids_of, favorites_of, listings_of_owner, public_listings_of
from orders.models import Order
from orders.selectors import orders_received_by, orders_sent_by
from reviews.selectors import ratings_of, reviews_received_by


def home(request):
    return render(request, "marketplace/home.html", {"categories": categories_active()})


@login_required
def dashboard(request):
    """The signed-in user's work: orders sent and received (what needs their move first),
    their listings as a seller, and saved listings."""
    status = request.GET.get("status") or None
    if status not in Order.Status.values:
        status = None
    context = {
        "order_lists": [
            ("Orders I sent", orders_sent_by(request.user, status=status), "Designer", "orders-sent"),
            ("Orders I received", orders_received_by(request.user, status=status), "Client", "orders-received"),
        ],
        "order_states": Order.Status.choices,
        "status_filter": status,
        "my_listings": listings_of_owner(request.user),
        "favorites": favorites_of(request.user),
    }
    return render(request, "marketplace/dashboard.html", context)


def public_profile(request, username: str):
    """A user's public page: who they are, their ratings and reviews, their live services."""
    profile = public_profile_for(username)
    listings = public_listings_of(profile.user, request.user)
    context = {
        "profile": profile,
        "seller": profile.user,
        "listings": listings,
        "favorite_ids": favorite_ids_of(request.user, listings),
        "ratings": ratings_of(profile.user),
        "reviews_received": reviews_received_by(profile.user),
    }
    return render(request, "marketplace/public_profile.html", context)

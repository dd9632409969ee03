"""Pages that gather what several apps hold: the home page, the signed-in user's dashboard
and public profiles.

Every list on these pages that grows with the user's history is paged on its own (its own
query parameter, the others kept in the links), so a page costs the same few queries and
kilobytes for a newcomer and for a designer with years of orders."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.shortcuts import render

from accounts.selectors import public_profile_for
from listings.cards import cards_for
from listings.selectors import categories_active, favorite_ids_in_order, listings_of_owner, public_listing_ids_of
from marketplace.selling import selling_steps, sells
from orders.models import Order
from orders.selectors import orders_received_by, orders_sent_by
from reviews.selectors import ratings_of, reviews_received_query, reviews_to_show
from reviews.shown import received_html

PROFILE_LISTINGS_PER_PAGE = 12
PROFILE_REVIEWS_PER_PAGE = 10
DASHBOARD_ORDERS_PER_PAGE = 10
DASHBOARD_LISTINGS_PER_PAGE = 10
DASHBOARD_FAVORITES_PER_PAGE = 8


def _page(request, items, per_page: int, param: str) -> Page:
    """One page of `items` from `?<param>=`; a number out of range or not a number gives the
    nearest page instead of an error."""
    return Paginator(items, per_page).get_page(request.GET.get(param))


def home(request):
    return render(request, "marketplace/home.html", {"categories": categories_active()})


@login_required
def dashboard(request):
    """The signed-in user's work: orders sent and received (what needs their move first),
    their listings as a seller, and saved listings; each section paged on its own.

    Seller sections (orders received, listings, earnings, the verification reminder) show once
    the person sells (marketplace.selling); until then "Start selling" stands in for them. A
    seller who never bought does not get an empty "Orders I sent"."""
    status = request.GET.get("status") or None
    if status not in Order.Status.values:
        status = None
    seller = sells(request.user)
    sent = _page(request, orders_sent_by(request.user, status=status), DASHBOARD_ORDERS_PER_PAGE, "sent_page")
    order_lists = []
    if sent or status or not seller:
        order_lists.append(("Orders I sent", sent, "Designer", "orders-sent", "sent_page"))
    if seller:
        received = _page(request, orders_received_by(request.user, status=status), DASHBOARD_ORDERS_PER_PAGE,
                         "received_page")
        order_lists.append(("Orders I received", received, "Client", "orders-received", "received_page"))
    favorites = _page(request, favorite_ids_in_order(request.user), DASHBOARD_FAVORITES_PER_PAGE, "saved_page")
    context = {
        "order_lists": order_lists,
        "order_states": Order.Status.choices,
        "status_filter": status,
        "my_listings": _page(request, listings_of_owner(request.user), DASHBOARD_LISTINGS_PER_PAGE, "listings_page")
        if seller else None,
        "favorites": favorites,
        "favorite_cards": cards_for(favorites),
    }
    return render(request, "marketplace/dashboard.html", context)


@login_required
def start_selling(request):
    """The way in for someone who has only bought so far: what selling takes, step by step,
    with where each step stands for them."""
    steps = selling_steps(request.user)
    return render(request, "marketplace/start_selling.html", {
        "steps": steps, "next_step": next((step for step in steps if step.open), None),
        "all_done": all(step.done for step in steps)})


def public_profile(request, username: str):
    """A user's public page: who they are, their ratings and reviews, their live services;
    reviews (`?reviews_page=`) and services (`?listings_page=`) are paged separately."""
    profile = public_profile_for(username)
    listings = _page(request, public_listing_ids_of(profile.user, request.user), PROFILE_LISTINGS_PER_PAGE,
                     "listings_page")
    reviews = _page(request, reviews_received_query(profile.user).values_list("pk", flat=True),
                    PROFILE_REVIEWS_PER_PAGE, "reviews_page")
    context = {
        "profile": profile,
        "seller": profile.user,
        "listings": listings,
        "listing_cards": cards_for(listings),
        "ratings": ratings_of(profile.user),
        "reviews_received": reviews,
        "review_html": received_html(profile, reviews, reviews_to_show),
    }
    return render(request, "marketplace/public_profile.html", context)

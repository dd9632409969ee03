"""Pages that gather what several apps hold: the home page, the signed-in user's dashboard
and public profiles.

Every list on these pages that grows with the user's history is paged on its own (its own
query parameter, the others kept in the links), so a page costs the same few queries and
kilobytes for a newcomer and for a designer with years of orders."""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.shortcuts import render
from django.urls import reverse

from accounts.selectors import public_profile_for, verification_requests_of
from cadcam.money import format_cents
from listings.cards import cards_for
from listings.models import MIN_PRICE_CENTS
from listings.selectors import categories_active, favorite_ids_in_order, listings_of_owner, public_listing_ids_of
from marketplace.selling import sells
from orders.models import Order
from orders.selectors import orders_received_by, orders_sent_by
from payments.fees import FEE_RATE, MINIMUM_FEE_CENTS
from payouts.selectors import payout_account_of
from reviews.selectors import ratings_of, reviews_received_query, reviews_to_show
from reviews.shown import received_html

PROFILE_LISTINGS_PER_PAGE = 12
PROFILE_REVIEWS_PER_PAGE = 10
DASHBOARD_ORDERS_PER_PAGE = 10
DASHBOARD_LISTINGS_PER_PAGE = 10
DASHBOARD_FAVORITES_PER_PAGE = 8


@dataclass(frozen=True)
class SellingStep:
    title: str
    explanation: str
    done: bool
    url: str
    action: str
    waiting: str = ""  # started: where it stands (waiting for staff, details Stripe still needs)
    can_act: bool = True  # False while nothing is left for the person to do (staff decide)

    @property
    def open(self) -> bool:
        return not self.done and self.can_act


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
    profile = request.user.profile
    has_listing = listings_of_owner(request.user).exists()
    account = payout_account_of(request.user)
    verification_waiting = not profile.is_verified and any(
        item.status == item.Status.PENDING for item in verification_requests_of(request.user))
    payouts_started = account is not None and not account.payouts_enabled
    steps = [
        SellingStep("Complete your profile", "A photo, what you do, your languages, country, phone and VAT number.",
                    profile.is_complete, reverse("accounts:profile"), "Complete your profile"),
        SellingStep("Verify your identity", "Our staff check an ID document once; verified sellers get a badge.",
                    profile.is_verified, reverse("accounts:verification"), "Verify your identity",
                    waiting="Your document is waiting for our staff; we e-mail you the decision."
                    if verification_waiting else "", can_act=not verification_waiting),
        SellingStep("Create your first listing",
                    f"Free, reviewed by our staff, from {format_cents(MIN_PRICE_CENTS)}; it can be private to "
                    "named clients.", has_listing, reverse("listings:new"), "Create a listing"),
        SellingStep("Set up payouts", f"Your bank account through Stripe. We keep {FEE_RATE:.0%} of each order "
                    f"(at least {format_cents(MINIMUM_FEE_CENTS)}).",
                    account is not None and account.payouts_enabled, reverse("payouts:index"),
                    "Continue payout set-up" if payouts_started else "Set up payouts",
                    waiting=f"Started: {account.get_state_display().lower()}." if payouts_started else ""),
    ]
    return render(request, "marketplace/start_selling.html", {"steps": steps, "next_step": next(
        (step for step in steps if step.open), None), "all_done": all(step.done for step in steps)})


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

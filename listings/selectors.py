"""Reads of listings, with who-may-see-what in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from listings.models import Category, Favorite, Listing, ListingImage

SEARCH_CONFIG = "english"


def categories_active() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True)


def _live() -> Q:
    """Published, not an edit in review, owner not suspended or deleted, not past its expiry date."""
    return (
        Q(status=Listing.Status.PUBLISHED, edit_of__isnull=True, owner__is_active=True)
        & (Q(expires_on__isnull=True) | Q(expires_on__gte=timezone.localdate()))
    )


def _offered_to(user) -> Exists:
    return Exists(Listing.recipients.through.objects.filter(listing_id=OuterRef("pk"), user_id=user.pk))


def listings_live_for(viewer) -> QuerySet[Listing]:
    """What browse and search may show this viewer: public live listings, plus private ones
    offered to them (staff see every live listing)."""
    live = Listing.objects.filter(_live())
    if viewer.is_authenticated and viewer.is_staff:
        return live
    if not viewer.is_authenticated:
        return live.filter(is_private=False)
    return live.filter(Q(is_private=False) | _offered_to(viewer) | Q(owner=viewer))


def listing_visible_to(viewer, pk: int) -> Listing:
    """The listing page: live listings as in browse; the owner and staff also see every
    state (drafts, in review, rejected, archived). Anyone else gets 404."""
    base = Listing.objects.filter(edit_of__isnull=True).select_related("owner__profile", "category")
    if viewer.is_authenticated and viewer.is_staff:
        visible = base
    elif viewer.is_authenticated:
        visible = base.filter(Q(pk__in=listings_live_for(viewer).values("pk")) | Q(owner=viewer))
    else:
        visible = base.filter(pk__in=listings_live_for(viewer).values("pk"))
    try:
        return visible.prefetch_related("images", "options", "software").get(pk=pk)
    except Listing.DoesNotExist:
        raise Http404 from None


def listing_owned_by(owner, pk: int) -> Listing:
    """A listing its owner may edit; 404 for anyone else (staff edit through the admin)."""
    try:
        return Listing.objects.select_related("category").get(pk=pk, owner=owner, edit_of__isnull=True)
    except Listing.DoesNotExist:
        raise Http404 from None


def listings_of_owner(owner) -> QuerySet[Listing]:
    return (
        Listing.objects.filter(owner=owner, edit_of__isnull=True)
        .select_related("category", "pending_edit")
        .prefetch_related(_images_prefetch())
        .order_by("-updated_at")
    )


def public_listings_of(owner, viewer) -> QuerySet[Listing]:
    return _with_card_data(listings_live_for(viewer).filter(owner=owner)).order_by("-published_at")


def favorites_of(user) -> QuerySet[Listing]:
    """Saved listings the user can still see."""
    return _with_card_data(
        listings_live_for(user).filter(favorited_by__user=user).order_by("-favorited_by__created_at")
    )


def favorite_ids_of(user, listings) -> set[int]:
    if not user.is_authenticated:
        return set()
    return set(
        Favorite.objects.filter(user=user, listing__in=[listing.pk for listing in listings]).values_list(
            "listing_id", flat=True
        )
    )


def _images_prefetch() -> Prefetch:
    return Prefetch("images", queryset=ListingImage.objects.order_by("position", "pk"))


def _with_card_data(listings: QuerySet[Listing]) -> QuerySet[Listing]:
    return listings.select_related("owner__profile", "category").prefetch_related(_images_prefetch())


# --- browse and search ----------------------------------------------------------------------

SORTS = {
    "relevance": "Best match",
    "newest": "Newest",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
}


@dataclass(frozen=True)
class BrowseFilters:
    q: str = ""
    category: Category | None = None
    software: tuple = ()
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    max_turnaround: int | None = None
    verified_only: bool = False
    private_only: bool = False
    sort: str = "relevance"


def search_query(text: str) -> SearchQuery | None:
    """Words typed by a person as a prefix query: "zirc crown" finds "zirconia crowns".

    Only letters and digits reach PostgreSQL's to_tsquery; everything else separates words."""
    words = re.findall(r"\w+", text.lower())[:8]
    if not words:
        return None
    return SearchQuery(" & ".join(f"{word}:*" for word in words), search_type="raw", config=SEARCH_CONFIG)


def listings_browse(*, viewer, filters: BrowseFilters) -> QuerySet[Listing]:
    listings = listings_live_for(viewer)
    query = search_query(filters.q)
    if query is not None:
        listings = listings.filter(search_vector=query)
    if filters.category:
        listings = listings.filter(category=filters.category)
    if filters.software:  # designers working in any of the chosen programs
        listings = listings.filter(
            Exists(
                Listing.software.through.objects.filter(
                    listing_id=OuterRef("pk"), cadsoftware_id__in=[software.pk for software in filters.software]
                )
            )
        )
    if filters.price_min_cents is not None:
        listings = listings.filter(price_cents__gte=filters.price_min_cents)
    if filters.price_max_cents is not None:
        listings = listings.filter(price_cents__lte=filters.price_max_cents)
    if filters.max_turnaround:
        listings = listings.filter(turnaround_days__lte=filters.max_turnaround)
    if filters.verified_only:
        listings = listings.filter(owner__profile__verified_at__isnull=False)
    if filters.private_only:  # offered to me: not my own, nor (for staff) everyone's
        if not viewer.is_authenticated:
            return Listing.objects.none()
        listings = listings.filter(is_private=True).filter(_offered_to(viewer))

    if filters.sort == "price_asc":
        listings = listings.order_by("price_cents", "-pk")
    elif filters.sort == "price_desc":
        listings = listings.order_by("-price_cents", "-pk")
    elif filters.sort == "relevance" and query is not None:
        listings = listings.annotate(rank=SearchRank(F("search_vector"), query)).order_by("-rank", "-published_at")
    else:
        listings = listings.order_by("-published_at", "-pk")
    return _with_card_data(listings)

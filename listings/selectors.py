"""Reads of listings, with who-may-see-what in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.functional import cached_property

from accounts.selectors import name_fields
from cadcam.db import read_replica
from cadcam.staff import acting_as_staff
from listings import browse_cache
from listings.models import CadSoftware, Category, Favorite, Listing, ListingImage

SEARCH_CONFIG = "english"


def categories_active() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True)


@dataclass(frozen=True)
class BrowseReference:
    """What the filter form offers: the active categories and CAD programs."""

    categories: tuple[Category, ...]
    software: tuple[CadSoftware, ...]


_reference: tuple[str, BrowseReference] | None = None


def remembered_reference() -> tuple[str, BrowseReference] | None:
    """The reference data this process holds, with its version, without asking Redis."""
    return _reference


def browse_reference(version: str | None = None) -> BrowseReference:
    """The reference data, loaded once per process for each version of it
    (browse_cache.REFERENCE_VERSION changes whenever a category or program does)."""
    global _reference
    if version is None and browse_cache.enabled():
        version = browse_cache.current_versions_or_none()
        version = version and version.reference
    remembered = _reference
    if version is not None and remembered is not None and remembered[0] == version:
        return remembered[1]
    reference = BrowseReference(
        categories=tuple(categories_active()), software=tuple(CadSoftware.objects.filter(is_active=True))
    )
    if version is not None:
        _reference = (version, reference)
    return reference


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
    if viewer.is_authenticated and acting_as_staff(viewer):
        return live
    if not viewer.is_authenticated:
        return live.filter(is_private=False)
    return live.filter(Q(is_private=False) | _offered_to(viewer) | Q(owner=viewer))


def sees_only_public(viewer) -> bool:
    """Whether browse shows this viewer just what it shows everyone: no private offer made to
    them, no private listing of their own, not staff. Such viewers share the browse cache."""
    if not viewer.is_authenticated:
        return True
    if acting_as_staff(viewer):
        return False
    return not Listing.objects.filter(is_private=True, status=Listing.Status.PUBLISHED).filter(
        Q(owner=viewer) | Q(recipients=viewer)
    ).exists()


def listing_visible_to(viewer, pk: int) -> Listing:
    """The listing page: live listings as in browse; the owner and staff also see every
    state (drafts, in review, rejected, archived). Anyone else gets 404."""
    base = Listing.objects.filter(edit_of__isnull=True).select_related("owner__profile", "category")
    if viewer.is_authenticated and acting_as_staff(viewer):
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


def listing_pending_edit(listing: Listing) -> Listing | None:
    """The edit of a live listing waiting to replace it, if its owner started one."""
    return Listing.objects.filter(edit_of=listing).first()


def listings_of_owner(owner) -> QuerySet[Listing]:
    """The owner's listings, last changed first, with what the dashboard's table shows of them
    and of an edit waiting for review."""
    return (
        Listing.objects.filter(owner=owner, edit_of__isnull=True)
        .select_related("category", "pending_edit")
        .only("title", "slug", "status", "price_cents", "is_private", "rejection_reason", "updated_at",
              "category__name", "pending_edit__edit_of", "pending_edit__status", "pending_edit__rejection_reason")
        .order_by("-updated_at")
    )


def public_listing_ids_of(owner, viewer) -> QuerySet:
    """The ids of the owner's listings this viewer may see, newest first (their cards come from
    listings.cards.cards_for)."""
    return listings_live_for(viewer).filter(owner=owner).order_by("-published_at").values_list("pk", flat=True)


def favorite_ids_in_order(user) -> QuerySet:
    """The ids of the saved listings the user can still see, last saved first."""
    return (listings_live_for(user).filter(favorited_by__user=user).order_by("-favorited_by__created_at")
            .values_list("pk", flat=True))


# What a card (templates/listings/_card.html) reads of a listing, its category and its seller.
CARD_FIELDS = ("title", "slug", "is_private", "price_cents", "is_per_unit", "unit_name", "turnaround_days",
               "rating_count", "rating_avg", "category__name", *name_fields("owner"),
               "owner__profile__account_type", "owner__profile__company_name", "owner__profile__verified_at")


def listings_for_cards(ids) -> list[Listing]:
    """These listings with what their cards show (and no more), read from the primary database."""
    return list(_with_card_data(Listing.objects.using("default").filter(pk__in=ids)).only(*CARD_FIELDS))


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
    "rating": "Best rated",
}


# The cheap stored score that picks which matches are ranked: best rated, most reviewed, newest
# (listings_rating_idx walks it).
BY_SCORE = ("-rating_avg", "-rating_count", "-pk")
RELEVANCE_ORDER = ("-rank", "-published_at", "-pk")
# How many matches ts_rank orders for a page: this many of the best-scored matches, and this many
# of the best-scored matches in the title (so a title hit is never lost among broad matches).
RANKED_CANDIDATES = 300


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
    min_rating: Decimal | None = None  # e.g. 4 or 4.5: rated listings at least this good
    sort: str = "relevance"

    def normalised(self) -> tuple:
        """The same for every way of writing the same filters ("Zirc  crown" and "zirc crown")."""
        return (
            " ".join(search_words(self.q)), self.category and self.category.slug,
            tuple(sorted(item.slug for item in self.software)), self.price_min_cents, self.price_max_cents,
            self.max_turnaround, self.verified_only, self.private_only,
            None if self.min_rating is None else str(self.min_rating), self.sort,
        )


# Words of fewer letters than this are too short to search by on their own ("a", "x"): they
# match a good part of the catalogue as prefixes and say nothing.
MIN_WORD_LENGTH = 2


@lru_cache(maxsize=4096)
def _is_stop_word(word: str) -> bool:
    """PostgreSQL's own answer, asked once per word and process: "the" and "and" are not indexed,
    so a query of nothing else would match nothing."""
    with connections[read_replica()].cursor() as cursor:
        cursor.execute("SELECT ts_lexize('english_stem', %s) = '{}'", [word])
        return bool(cursor.fetchone()[0])


def search_words(text: str) -> list[str]:
    """The words of a search as PostgreSQL would index them, minus stop words and single
    letters. Words are letters and digits, with "." or "-" kept inside a word, as PostgreSQL's
    parser keeps them ("e.max", "all-on-4"); nothing else reaches to_tsquery."""
    words = re.findall(r"\w+(?:[.-]\w+)*", text.lower())[:8]
    return [
        word for word in dict.fromkeys(words)
        if (len(word) >= MIN_WORD_LENGTH or word.isdigit()) and not _is_stop_word(word)
    ]


def search_query(text: str, *, title_only: bool = False) -> SearchQuery | None:
    """Words typed by a person as a prefix query: "zirc crown" finds "zirconia crowns".
    `title_only` matches them in the title only (weight A of the stored document)."""
    words = search_words(text)
    if not words:
        return None
    weight = "A" if title_only else ""
    return SearchQuery(" & ".join(f"{word}:*{weight}" for word in words), search_type="raw", config=SEARCH_CONFIG)


def listings_browse(*, viewer, filters: BrowseFilters, many_matches: bool = False) -> QuerySet[Listing]:
    """`many_matches`: the words match more listings than the paginator counts (its cap), so
    walking the price or rating index finds a page of them within a few thousand rows."""
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
    if filters.min_rating is not None:
        listings = listings.filter(rating_count__gt=0, rating_avg__gte=filters.min_rating)
    if filters.private_only:  # offered to me: not my own, nor (for staff) everyone's
        if not viewer.is_authenticated:
            return Listing.objects.none()
        listings = listings.filter(is_private=True).filter(_offered_to(viewer))

    # With words that match few listings, `price_cents + 0` keeps the planner from walking the
    # price index and testing every row against the words; it takes the text index and sorts the
    # matches. With words that match many, the walk is the cheap way: a page is found in a few
    # thousand rows, where sorting means reading every match.
    sort_matches = query is not None and not many_matches
    price = F("price_cents") + 0 if sort_matches else F("price_cents")
    if filters.sort == "price_asc":
        listings = listings.order_by(price.asc(), "-pk")
    elif filters.sort == "price_desc":
        listings = listings.order_by(price.desc(), "-pk")
    elif filters.sort == "rating":  # best average first, then the most reviewed; unrated last (average 0)
        if sort_matches:
            listings = listings.order_by((F("rating_avg") + 0).desc(), (F("rating_count") + 0).desc(), "-pk")
        else:
            listings = listings.order_by("-rating_avg", "-rating_count", "-pk")
    elif filters.sort == "relevance" and query is not None:
        listings = listings.annotate(rank=SearchRank(F("search_vector"), query)).order_by(*RELEVANCE_ORDER)
    else:
        listings = listings.order_by("-published_at", "-pk")
    return listings


class RankedMatches:
    """Search results in order of relevance, for the paginator, ranking a bounded set.

    Ranking every match of a broad word ("crown" matches 44 % of the catalogue) costs a scan
    and a ts_rank of each. Instead, the GIN index (for rare words) or the score index (for
    common ones) finds the best-scored few hundred matches, plus as many matching in the
    title; ts_rank orders only those. Pages past them continue in score order."""

    def __init__(self, unsearched: QuerySet[Listing], text: str):
        """`unsearched`: the listings every other filter allows."""
        self.query = search_query(text)
        self.matches = unsearched.filter(search_vector=self.query).order_by()
        # A title match is a match: filtering on the title alone keeps the planner's estimate
        # of how many there are (and so its choice of index) right.
        self.title_matches = unsearched.filter(search_vector=search_query(text, title_only=True)).order_by()

    def order_by(self) -> QuerySet[Listing]:
        return self.matches

    def count(self) -> int:
        return self.matches.count()

    def _ranked(self, limit: int) -> list[int]:
        candidates = self.matches.order_by(*BY_SCORE).values("pk")[:RANKED_CANDIDATES].union(
            self.title_matches.order_by(*BY_SCORE).values("pk")[:RANKED_CANDIDATES]
        )
        return list(
            self.matches.model.objects.using(self.matches.db).filter(pk__in=candidates)
            .annotate(rank=SearchRank(F("search_vector"), self.query)).order_by(*RELEVANCE_ORDER)
            .values_list("pk", flat=True)[:limit]
        )

    def __getitem__(self, key: slice) -> list[int]:
        start, stop = key.start or 0, key.stop
        if stop <= RANKED_CANDIDATES:
            return self._ranked(stop)[start:stop]
        ranked = self._ranked(2 * RANKED_CANDIDATES)
        if stop <= len(ranked):
            return ranked[start:stop]
        rest = self.matches.exclude(pk__in=ranked).order_by(*BY_SCORE).values_list("pk", flat=True)
        return ranked[start:] + list(rest[max(0, start - len(ranked)):stop - len(ranked)])


class CappedPaginator(Paginator):
    """Counts at most `cap` + 1 results: "1,000+ services" is as useful as an exact figure and
    does not scan every match on each request. Pages beyond the cap are not offered."""

    cap = 1000

    @cached_property
    def count(self) -> int:
        return min(self.cap + 1, self.object_list.order_by()[: self.cap + 1].count())

    @property
    def is_capped(self) -> bool:
        return self.count > self.cap

    @classmethod
    def most_pages(cls, per_page: int) -> int:
        """The most pages a list can have: "1,000+" results, that is cap + 1."""
        return -(-(cls.cap + 1) // per_page)


def listings_browse_ids_page(*, viewer, filters: BrowseFilters, number, per_page: int,
                             replica: bool = True) -> Page:
    """One page of browse results as listing ids, from a narrow query (no descriptions, no
    joins for the cards): the cards come from listings.cards.cards_for."""
    # the replica, if there is one and the caller allows it: a listing may show up a moment late
    database = read_replica() if replica else "default"
    if filters.sort == "relevance" and search_query(filters.q) is not None:
        unsearched = listings_browse(viewer=viewer, filters=replace(filters, q="")).using(database)
        found = RankedMatches(unsearched, filters.q)
    else:
        found = listings_browse(viewer=viewer, filters=filters).using(database).values_list("pk", flat=True)
    paginator = CappedPaginator(found, per_page)
    if filters.q and paginator.is_capped and isinstance(found, QuerySet):  # broad words: walk the index
        found = listings_browse(viewer=viewer, filters=filters, many_matches=True).using(database)
        paginator.object_list = found.values_list("pk", flat=True)
    page = paginator.get_page(number)
    page.object_list = list(page.object_list)
    return page


def listings_browse_page(*, viewer, filters: BrowseFilters, number, per_page: int, replica: bool = True) -> Page:
    """`listings_browse_ids_page` with the listings themselves and what their cards show."""
    page = listings_browse_ids_page(viewer=viewer, filters=filters, number=number, per_page=per_page,
                                    replica=replica)
    database = read_replica() if replica else "default"
    ids = page.object_list
    cards = {listing.pk: listing for listing in _with_card_data(Listing.objects.using(database).filter(pk__in=ids))}
    page.object_list = [cards[pk] for pk in ids if pk in cards]
    return page


# --- the owner's data export (registered with accounts in ListingsConfig.ready) ----------------------


def listings_export(user) -> list[dict]:
    return [
        {
            "id": listing.pk,
            "title": listing.title,
            "status": listing.status,
            "category": listing.category.name,
            "description": listing.description,
            "price_cents": listing.price_cents,
            "currency": listing.currency,
            "created_at": listing.created_at,
            "published_at": listing.published_at,
        }
        for listing in Listing.objects.filter(owner=user).select_related("category").order_by("pk")
    ]


def favorites_export(user) -> list[str]:
    return [favorite.listing.title for favorite in Favorite.objects.filter(user=user).select_related("listing")]

"""Listing cards as HTML, kept per listing in the browse cache (listings/browse_cache.py).

A card shows the same thing to everyone who may see its listing (the viewer's favourite star
is drawn outside it), so browse, the public profile and the saved listings share them; which
listings a viewer may see is decided by the query that chose them, never by the cache."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string

from cadcam.cache import kept_many
from listings import browse_cache
from listings.selectors import listings_for_cards


@dataclass(frozen=True)
class Card:
    pk: int
    title: str
    html: str


def render_card(listing) -> str:
    return render_to_string("listings/_card.html", {"listing": listing})


def cards_for(ids, versions: browse_cache.Versions | None = None) -> list[Card]:
    """The cards of the listings with these ids, in order: from the cache where it holds them
    under the current tokens; the others read from the primary database (what is kept must not
    be older than the tokens it is filed under), rendered and kept."""
    ids = list(ids)
    if versions is None:
        versions = browse_cache.current_versions_or_none()
    cards = kept_many(
        {pk: browse_cache.key("listing-card", pk) for pk in ids},
        versions,
        lambda missing: {listing.pk: Card(listing.pk, listing.title, render_card(listing))
                         for listing in listings_for_cards(missing)},
        settings.BROWSE_CACHE_SECONDS,
    )
    return [cards[pk] for pk in ids if pk in cards]

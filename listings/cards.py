"""Listing cards as HTML, kept per listing in the browse cache (listings/browse_cache.py).

A card shows the same thing to everyone who may see its listing (the viewer's favourite star
is drawn outside it), so browse, the public profile and the saved listings share them; which
listings a viewer may see is decided by the query that chose them, never by the cache."""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string

from listings import browse_cache


@dataclass(frozen=True)
class Card:
    pk: int
    title: str
    html: str


def render_card(listing) -> str:
    return render_to_string("listings/_card.html", {"listing": listing})


def cards_of(listings, versions: browse_cache.Versions | None = None) -> list[Card]:
    """Cards for these listings (with owner, profile, category and images loaded), in order:
    from the cache where it holds them under the current tokens, rendered (and kept) otherwise."""
    listings = list(listings)
    if versions is None:
        versions = browse_cache.current_versions_or_none()
    keys = {listing.pk: browse_cache.key("card", listing.pk) for listing in listings}
    found = browse_cache.get_many(list(keys.values())) if versions is not None else {}
    cards, rendered = [], {}
    for listing in listings:
        entry = found.get(keys[listing.pk])
        html = entry[1] if entry is not None and entry[0] == versions else None
        if html is None:
            html = render_card(listing)
            rendered[keys[listing.pk]] = (versions, html)
        cards.append(Card(listing.pk, listing.title, html))
    if rendered and versions is not None:
        browse_cache.put_many(rendered)
    return cards

"""The browse page's cache in Redis, and what invalidates it.

Two version tokens live in the cache: one for everything a result page shows (listings, their
prices, ratings, images, moderation state, and the sellers' names, badges and accounts), one
for the reference data of the filter form (categories, CAD programs). Every entry is stored
with the tokens it was made under and used only while they are current, so a change makes the
old entries useless at once: the next request misses and renders afresh. Tokens are bumped by
signal receivers (connected in ListingsConfig.ready) and by the few services that write with
queryset.update(); each bump happens at once and again after the transaction commits, so a
request that read the old rows between the two cannot leave them cached under the new token.
Entries also expire after BROWSE_CACHE_SECONDS, and the day is part of the key (listings past
their expiry date leave browse at midnight).

What is cached, by who may share it:
- the result page's listing ids, count and card HTML (without anyone's favourite stars), for
  every viewer who sees what an anonymous visitor sees: anonymous visitors and signed-in people
  with no private offer to them and no private listing of their own;
- the whole rendered page for anonymous visitors with no message waiting, in Redis and in the
  memory of the process that served it (checked against the tokens on every request)."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from accounts.models import Profile, User, changes_what_others_see
from cadcam.cache import bump_tokens, token_from
from listings.models import CadSoftware, Category, Listing, ListingImage

logger = logging.getLogger(__name__)

RESULTS_VERSION = "listings:browse:version"
REFERENCE_VERSION = "listings:reference:version"


@dataclass(frozen=True)
class Versions:
    results: str
    reference: str


def enabled() -> bool:
    return settings.BROWSE_CACHE_SECONDS > 0


def _versions_from(found: dict) -> Versions:
    """The tokens out of a get_many that asked for them."""
    return Versions(results=token_from(found, RESULTS_VERSION), reference=token_from(found, REFERENCE_VERSION))


def current_versions() -> Versions:
    return _versions_from(cache.get_many([RESULTS_VERSION, REFERENCE_VERSION]))


def current_versions_or_none() -> Versions | None:
    """The tokens, or None when the cache is off or does not answer (then nothing is cached)."""
    if not enabled():
        return None
    try:
        return current_versions()
    except Exception:
        logger.exception("The browse cache did not answer.")
        return None


# The last pages each process served, checked against the tokens on every request: a hit costs
# one small round trip to Redis instead of carrying the page (40 KB) over it.
class Recent:
    """A bounded memory of this process, shared by its threads: the `size` entries used last."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key, value) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


_local_pages = Recent(128)


def lookup(cache_key: str, versions: Versions):
    """What is stored under `cache_key` if it was stored under these tokens, else None."""
    entry = get(cache_key)
    return entry[1] if entry is not None and entry[0] == versions else None


def store(cache_key: str, versions: Versions, value) -> None:
    put(cache_key, (versions, value))


def lookup_page(cache_key: str, versions: Versions):
    """The page stored under `cache_key` if it was rendered under these tokens: from this
    process's memory, else from Redis (another process may have rendered it)."""
    entry = _local_pages.get(cache_key)
    if entry is None or entry[0] != versions:
        entry = get(cache_key)
        if entry is not None:
            _local_pages.put(cache_key, entry)
    return entry[1] if entry is not None and entry[0] == versions else None


def store_page(cache_key: str, versions: Versions, content) -> None:
    _local_pages.put(cache_key, (versions, content))
    store(cache_key, versions, content)


def bump(*, reference: bool = False) -> None:
    """A listing (or what its card shows) changed; `reference`: a category or CAD program did."""
    bump_tokens(*([RESULTS_VERSION, REFERENCE_VERSION] if reference else [RESULTS_VERSION]))


def key(kind: str, *parts) -> str:
    """A key for these parts on this day (listings past their expiry date leave at midnight)."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"listings:{kind}:{timezone.localdate().isoformat()}:{digest}"


def get(cache_key: str):
    try:
        return cache.get(cache_key)
    except Exception:
        logger.exception("The browse cache did not answer.")
        return None


def put(cache_key: str, value) -> None:
    try:
        cache.set(cache_key, value, settings.BROWSE_CACHE_SECONDS)
    except Exception:
        logger.exception("The browse cache did not answer.")


# --- what invalidates it (connected in ListingsConfig.ready) -------------------------------

def _listing_changed(sender, instance, **kwargs) -> None:
    if getattr(instance, "edit_of_id", None) is None:  # an edit in review shows nowhere until approved
        bump()


def _card_part_changed(sender, **kwargs) -> None:
    bump()


def _reference_changed(sender, **kwargs) -> None:
    bump(reference=True)


def _account_changed(sender, instance, created=False, update_fields=None, **kwargs) -> None:
    """A seller's name, badge or account (a suspended seller's listings leave browse)."""
    if changes_what_others_see(created=created, update_fields=update_fields):
        bump()


def connect_signals() -> None:
    for signal in (post_save, post_delete):
        signal.connect(_listing_changed, sender=Listing, dispatch_uid="browse_cache_listing")
        signal.connect(_card_part_changed, sender=ListingImage, dispatch_uid="browse_cache_image")
        for model in (Category, CadSoftware):
            signal.connect(_reference_changed, sender=model, dispatch_uid=f"browse_cache_{model.__name__}")
    for model in (User, Profile):
        post_save.connect(_account_changed, sender=model, dispatch_uid=f"browse_cache_{model.__name__}")
        post_delete.connect(_card_part_changed, sender=model, dispatch_uid=f"browse_cache_{model.__name__}_gone")
    for through in (Listing.software.through, Listing.recipients.through):
        m2m_changed.connect(_card_part_changed, sender=through, dispatch_uid=f"browse_cache_{through.__name__}")

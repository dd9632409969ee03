"""Django's Redis cache keeping its redis-py client, and version tokens for what is kept in it.

Django's RedisCacheClient builds a new `redis.Redis` object (over the same connection pool)
for every operation; that costs more than the round trip of a small GET on a local Redis, and
the browse page's cache does one or two per request. The client is safe to share: it only
holds the pool, which hands each command a connection."""

import logging
import uuid

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.db import transaction

logger = logging.getLogger(__name__)


class KeptClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(self._servers[index], **self._pool_options)
            client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = KeptClient


# --- version tokens ------------------------------------------------------------------------------
# A value kept in the cache with the token it was computed under is used only while that token
# is current; a change moves the token (a new random value) instead of finding and deleting
# what it made stale. The move happens at once and again after the transaction commits, so a
# reader that saw the old rows between the two cannot leave them under the new token. The
# listings' browse cache and the navigation's unread count use them.

def _move(key: str) -> None:
    cache.set(key, uuid.uuid4().hex, None)


def bump_tokens(*keys: str) -> None:
    """What these tokens stand for changed (or is changing in the open transaction)."""
    for key in keys:
        try:
            _move(key)
        except Exception:  # the change itself must not fail for the cache: entries expire anyway
            logger.exception("Could not move the cache token %s.", key)
        transaction.on_commit(lambda key=key: _move(key), robust=True)


def token_from(found: dict, key: str) -> str:
    """The token under `key` out of a get_many that asked for it; made anew when missing (the
    first use, or evicted)."""
    if key not in found:
        cache.add(key, uuid.uuid4().hex, None)
        found[key] = cache.get(key)
    return found[key]


def remembered(key: str, token_key: str, compute, timeout: int):
    """`compute()`, kept under `key` while the token under `token_key` stays: one round trip to
    the cache on a hit. Without an answering cache, computed every time."""
    try:
        found = cache.get_many([token_key, key])
        token = token_from(found, token_key)
    except Exception:
        logger.exception("The cache did not answer.")
        return compute()
    entry = found.get(key)
    if entry is not None and entry[0] == token:
        return entry[1]
    value = compute()
    try:
        cache.set(key, (token, value), timeout)
    except Exception:
        logger.exception("The cache did not answer.")
    return value


def kept_many(keys: dict, token, compute, timeout: int) -> dict:
    """Values for the ids of `keys` (id -> cache key), in one round trip: those stored under
    `token`, and `compute(missing ids)` -> {id: value} for the others, which are then stored
    under it. With no token (the cache is off or does not answer), everything is computed."""
    found = {}
    if token is not None:
        try:
            found = cache.get_many(list(keys.values()))
        except Exception:
            logger.exception("The cache did not answer.")
    values = {}
    for pk, key in keys.items():
        entry = found.get(key)
        if entry is not None and entry[0] == token:
            values[pk] = entry[1]
    missing = [pk for pk in keys if pk not in values]
    if missing:
        computed = compute(missing)
        values.update(computed)
        if token is not None and computed:
            try:
                cache.set_many({keys[pk]: (token, value) for pk, value in computed.items()}, timeout)
            except Exception:
                logger.exception("The cache did not answer.")
    return values


def current_token(token_key: str):
    """The token under `token_key`, or None when the cache does not answer."""
    try:
        return token_from(cache.get_many([token_key]), token_key)
    except Exception:
        logger.exception("The cache did not answer.")
        return None

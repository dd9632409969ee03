"""Exactly one beat. The beat sends the periodic jobs (settings.CELERY_BEAT_SCHEDULE); two of
them would send every job twice. `SingleBeatScheduler` is django-celery-beat's database
scheduler that sends nothing unless it holds a lock in Redis. The lock lives LOCK_SECONDS and
the holder renews it on every tick, at least every RENEW_SECONDS; a second beat (a deploy that
overlaps, a replica started by mistake) waits and takes over within a minute of the first one
stopping. Deployments still run one beat replica (docs/deploy.md): the lock is the safety net.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import UTC, datetime

import redis
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler
from redis.exceptions import LockError

logger = logging.getLogger(__name__)

LOCK_NAME = "cadcam:beat-lock"
LOCK_SECONDS = 60
RENEW_SECONDS = 15
WAIT_SECONDS = 10
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SingleBeatScheduler(DatabaseScheduler):
    def __init__(self, *args, **kwargs):
        self.lock = redis.Redis.from_url(settings.REDIS_URL).lock(
            LOCK_NAME, timeout=LOCK_SECONDS, thread_local=False
        )
        self.beat_id = uuid.uuid4().hex[:8]
        self.holding = False
        super().__init__(*args, **kwargs)

    def hold(self) -> bool:
        """Whether this beat holds the lock now (renewing it, or taking it when free)."""
        try:
            if self.holding:
                try:
                    self.lock.reacquire()  # back to LOCK_SECONDS
                    return True
                except LockError:  # it expired (a tick longer than LOCK_SECONDS): start over
                    logger.warning("Beat %s lost the lock.", self.beat_id)
                    self.holding = False
            if self.lock.acquire(blocking=False, token=self.beat_id.encode()):
                # Taking over: the other beat wrote its last runs before it let go. Forget when
                # this one last read the schedule, so the database scheduler reads it again (and
                # rebuilds its queue) at this tick instead of sending what was already sent.
                self._last_timestamp = EPOCH
                self.holding = True
                logger.info("Beat %s holds the lock and sends the periodic jobs.", self.beat_id)
        except redis.RedisError:
            logger.warning("Beat %s cannot reach Redis; it sends nothing until it can.", self.beat_id)
            self.holding = False
        return self.holding

    def tick(self, *args, **kwargs):
        if not self.hold():
            return WAIT_SECONDS
        return min(super().tick(*args, **kwargs), RENEW_SECONDS)

    def close(self):
        super().close()  # writes the jobs' last runs to the database first
        if self.holding:
            with contextlib.suppress(LockError, redis.RedisError):
                self.lock.release()
            self.holding = False

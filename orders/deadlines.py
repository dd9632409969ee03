"""The deadline sweep: expiries, automatic completions and reminders that are due, one e-mail
per recipient about them, and the files of cases that ended unpaid whose grace period is over.

The sweep is planned, then done in chunks:

- **planning** (`sweep_chunks`) walks the due orders of each kind by primary key, CHUNK ids at
  a time (keyset pagination: every query has a LIMIT, memory stays bounded), and yields each
  chunk as its first and last id. It runs under a lock in Redis (`sweep_lock`), so two
  sweeps never overlap; the lock lives while the sweep's chunks run (each renews it) and is
  released when its e-mails are sent, or expires LOCK_SECONDS after the last sign of life.
- **chunks** (`sweep_chunk_run`) call the set-based services (orders/sweep_services.py) on the
  due orders between those ids: each order's change stays a locked, recorded transition, and
  a chunk of CHUNK orders takes seconds. A chunk that fails is logged and its orders, still
  due, are found by the next sweep; a release whose gateway answer was lost is finished by the
  recovery job.
- **e-mails**: the chunks record notices; `order_notices_send` then e-mails each recipient once.

The beat runs it through Celery (orders/tasks.py: a quick planner task fans the chunks out
and a last task sends the e-mails); `orders_sweep` runs the same steps in this process
(`manage.py run_deadlines`, tests)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import redis
from django.conf import settings
from django.utils import timezone
from redis.exceptions import LockError

from orders.models import Order
from orders.notices import order_notices_send
from orders.services import unpaid_case_files_purge
from orders.sweep_services import SERVICES, Done
from payments.backends import get_gateway

logger = logging.getLogger(__name__)

LOCK_NAME = "orders:deadline-sweep"
# Longer than a chunk may take (orders/tasks.py): a sweep whose tasks run renews it in time.
LOCK_SECONDS = 10 * 60
# Orders a chunk covers; a chunk may meet up to twice as many (orders that became due since).
CHUNK = 500
# With a gateway that releases one authorization per call (Stripe), a chunk of expiries is smaller.
CHUNK_ONE_CALL_EACH = 100
# At most this many chunks per sweep (a million orders at 500): the rest waits for the next.
MAX_CHUNKS = 2000


@dataclass
class SweepResult:
    expired: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)  # a payment step is being confirmed: next run
    failed: list[int] = field(default_factory=list)  # the gateway refused: logged, next run
    files_deleted: int = 0  # case files of orders that ended unpaid, past their grace period
    emails: int = 0  # one per recipient
    chunks: int = 0
    chunks_failed: int = 0  # logged; their orders are still due and the next sweep takes them
    skipped: bool = False  # another sweep holds the lock

    def add(self, kind: str, done: Done) -> None:
        target = {"expire": self.expired, "complete": self.completed}.get(kind, self.reminded)
        target += done.done
        self.waiting += [pk for pk in done.waiting if pk not in self.waiting]
        self.failed += done.failed


@dataclass(frozen=True)
class Chunk:
    kind: str  # a key of orders.sweep_services.SERVICES
    first: int  # the first and last due order's id when it was planned
    last: int


def sweep_lock(token: str | None = None):
    """The sweep's lock in Redis. With `token`, the lock a sweep took (to renew or release it)."""
    lock = redis.Redis.from_url(settings.REDIS_URL).lock(LOCK_NAME, timeout=LOCK_SECONDS, thread_local=False)
    if token is not None:
        lock.local.token = token.encode()
    return lock


def sweep_lock_renew(token: str) -> bool:
    """Renew the sweep's lock (from its chunks); False when it has expired meanwhile."""
    try:
        sweep_lock(token).reacquire()
        return True
    except LockError:
        return False


def sweep_lock_release(token: str) -> None:
    try:
        sweep_lock(token).release()
    except LockError:  # it expired meanwhile (and another sweep may hold it now): leave it
        logger.warning("The deadline sweep's lock had expired before the sweep ended.")


def chunk_size(kind: str) -> int:
    if kind == "expire" and not hasattr(get_gateway(), "cancel_many"):
        return CHUNK_ONE_CALL_EACH
    return CHUNK


def sweep_chunks(*, now: datetime) -> Iterator[Chunk]:
    """The due orders of each kind, as chunks of at most chunk_size(kind) consecutive ids; each
    query reads one page (LIMIT) after the last id seen."""
    planned = 0
    for kind, (due, _service) in SERVICES.items():
        size, after = chunk_size(kind), 0
        while planned < MAX_CHUNKS:
            ids = list(Order.objects.filter(due(now), pk__gt=after).order_by("pk").values_list("pk", flat=True)[:size])
            if not ids:
                break
            planned += 1
            yield Chunk(kind, ids[0], ids[-1])
            if len(ids) < size:
                break
            after = ids[-1]


def sweep_chunk_run(chunk: Chunk, *, now: datetime) -> Done:
    """Do what is due among the orders of one chunk (still due when it runs: the services check
    again under the row locks, so a chunk run twice changes each order once)."""
    _due, service = SERVICES[chunk.kind]
    orders = Order.objects.filter(pk__gte=chunk.first, pk__lte=chunk.last)
    return service(due=orders, now=now, limit=2 * chunk_size(chunk.kind))


def orders_sweep(*, now: datetime | None = None) -> SweepResult:
    """One whole sweep in this process: plan, run each chunk, e-mail, purge. Returns what it did,
    or `skipped` when another sweep holds the lock."""
    now = now or timezone.now()
    lock = sweep_lock()
    if not lock.acquire(blocking=False):
        logger.info("Another deadline sweep is running: this one is skipped.")
        return SweepResult(skipped=True)
    result = SweepResult()
    try:
        for chunk in sweep_chunks(now=now):
            lock.reacquire()
            result.chunks += 1
            try:
                result.add(chunk.kind, sweep_chunk_run(chunk, now=now))
            except Exception:  # the next sweep finds these orders due again
                logger.exception("A deadline chunk failed: %s", chunk)
                result.chunks_failed += 1
        result.emails, _ = order_notices_send()
        result.files_deleted = unpaid_case_files_purge(now=now)
    finally:
        try:
            lock.release()
        except LockError:
            logger.warning("The deadline sweep's lock had expired before the sweep ended.")
    return result

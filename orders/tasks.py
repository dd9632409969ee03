"""The deadline sweep on Celery (orders/deadlines.py), in three kinds of task, each far from its
time limit whatever the number of due orders:

- `run_deadlines` (beat, every minute) takes the sweep's lock and plans: it sends one
  `run_deadline_chunk` per chunk of due orders, in a chord whose last step is
  `finish_deadlines`. Planning reads ids a page at a time and sends small messages (a kind and
  two ids), at most MAX_CHUNKS of them.
- `run_deadline_chunk` handles one chunk (500 orders take a few seconds) and renews the lock.
  It logs and reports a failure instead of raising, so the sweep still ends with its e-mails;
  the failed chunk's orders are still due and the next sweep takes them.
- `finish_deadlines` pages the recipients of the sweep's notices (200 a page) and sends one
  `send_deadline_notices` per page, in a second chord: each page e-mails its recipients once
  each. Its last step, `end_deadlines`, purges the files of cases that ended unpaid, releases
  the lock and records the sweep's duration for /metrics.
"""

import logging
import time
import uuid
from datetime import datetime

from celery import chord, shared_task
from django.utils import timezone

from cadcam.metrics import job_record
from orders.deadlines import (
    Chunk,
    sweep_chunk_run,
    sweep_chunks,
    sweep_lock,
    sweep_lock_release,
    sweep_lock_renew,
)
from orders.notices import order_notices_recipient_pages, order_notices_send
from orders.services import unpaid_case_files_purge

logger = logging.getLogger(__name__)

JOB = "order_deadlines"
# How long a page of e-mails may take; recipients left over are e-mailed by the next sweep.
EMAIL_SECONDS = 90


@shared_task(soft_time_limit=100, time_limit=120)
def run_deadlines() -> dict:
    now = timezone.now()
    token = uuid.uuid4().hex
    if not sweep_lock(token).acquire(blocking=False, token=token):
        logger.info("The previous deadline sweep is still running: nothing planned.")
        return {"skipped": True}
    try:
        chunks = [run_deadline_chunk.si(kind=chunk.kind, first=chunk.first, last=chunk.last, now=now.isoformat(),
                                        token=token) for chunk in sweep_chunks(now=now)]
        finish = finish_deadlines.s(now=now.isoformat(), token=token, started=time.time())
        if chunks:
            chord(chunks)(finish)
        else:
            finish.delay([])
    except BaseException:
        sweep_lock_release(token)
        raise
    return {"chunks": len(chunks)}


@shared_task(soft_time_limit=120, time_limit=150)
def run_deadline_chunk(*, kind: str, first: int, last: int, now: str, token: str) -> dict:
    sweep_lock_renew(token)
    try:
        done = sweep_chunk_run(Chunk(kind, first, last), now=datetime.fromisoformat(now))
    except Exception as error:  # logged (and reported); the orders stay due for the next sweep
        logger.exception("Deadline chunk %s %s-%s failed", kind, first, last)
        return {"kind": kind, "error": type(error).__name__}
    return {"kind": kind, "done": len(done.done), "waiting": len(done.waiting), "failed": len(done.failed)}


@shared_task(soft_time_limit=100, time_limit=120)
def finish_deadlines(results: list | None = None, *, now: str, token: str, started: float) -> dict:
    """After the chunks: the e-mails, in parallel pages of recipients, then the end of the sweep."""
    sweep_lock_renew(token)
    for result in results or []:
        if "error" in result:
            logger.warning("A deadline chunk failed (%s); the next sweep takes its orders.", result["error"])
    pages = [send_deadline_notices.si(first=first, last=last, token=token)
             for first, last in order_notices_recipient_pages()]
    end = end_deadlines.si(now=now, token=token, started=started)
    if pages:
        chord(pages)(end)
    else:
        end.delay()
    return {"email_pages": len(pages), "chunks": len(results or []),
            "chunks_failed": sum("error" in result for result in results or [])}


@shared_task(soft_time_limit=120, time_limit=150)
def send_deadline_notices(*, first: int, last: int, token: str) -> int:
    """One e-mail to each recipient of a page (200 recipients); those it has no time for are
    e-mailed by the next sweep."""
    if not sweep_lock_renew(token):  # another sweep may be e-mailing them: its notices wait for the next
        logger.warning("A page of deadline e-mails found its sweep's lock expired; the next sweep sends them.")
        return 0
    emails, _more = order_notices_send(first=first, last=last, until=time.monotonic() + EMAIL_SECONDS)
    return emails


@shared_task(soft_time_limit=100, time_limit=120)
def end_deadlines(*, now: str, token: str, started: float) -> dict:
    files_deleted = unpaid_case_files_purge(now=datetime.fromisoformat(now))
    sweep_lock_release(token)
    job_record(JOB, seconds=time.time() - started)
    return {"files_deleted": files_deleted}

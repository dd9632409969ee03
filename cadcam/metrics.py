"""Prometheus metrics at /metrics (docs/operations.md).

Two kinds, in one answer:

- HTTP and database metrics of the web processes, from django-prometheus (its middleware),
  gathered across gunicorn's worker processes when PROMETHEUS_MULTIPROC_DIR is set
  (gunicorn.conf.py sets it);
- business metrics, read at scrape time from the database and the cache, so they are the
  same whichever process (web or Celery worker) did the work: each app registers a source
  with `@metrics_source` (in its AppConfig.ready), and `record_job` keeps the duration and
  time of the beat's jobs.

The view refuses (404) anyone outside METRICS_ALLOWED_NETWORKS who lacks the METRICS_TOKEN.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric

MetricSource = Callable[[], Iterable[Metric]]
SOURCES: list[MetricSource] = []

JOB_CACHE_KEY = "metrics:job:{}"
BEAT_HEARTBEAT = "beat_heartbeat"
JOB_NAMES_KEY = "metrics:jobs"


def metrics_source(source: MetricSource) -> MetricSource:
    """Register a function that yields metric families (prometheus_client.core) at scrape time."""
    if source not in SOURCES:
        SOURCES.append(source)
    return source


@contextmanager
def record_job(name: str):
    """Time one run of a periodic job; /metrics shows the duration and the end of its last
    successful run (a run that raised is not recorded: a failing job looks late, not fine)."""
    started = time.monotonic()
    yield
    job_record(name, seconds=time.monotonic() - started)


def job_record(name: str, *, seconds: float) -> None:
    """Record a successful run of a job that ends now and took `seconds` (for a job spread over
    several tasks, such as the deadline sweep, timed from its first task to its last)."""
    cache.set(JOB_CACHE_KEY.format(name), {"seconds": seconds, "at": time.time()}, None)
    names = set(cache.get(JOB_NAMES_KEY) or ())
    if name not in names:
        cache.set(JOB_NAMES_KEY, sorted(names | {name}), None)


def job_last_run(name: str) -> dict | None:
    return cache.get(JOB_CACHE_KEY.format(name))


@metrics_source
def job_metrics() -> Iterable[Metric]:
    duration = GaugeMetricFamily("cadcam_job_duration_seconds", "How long the last run of a periodic job took.",
                                 labels=["job"])
    ended = GaugeMetricFamily("cadcam_job_last_run_timestamp_seconds", "When the last run of a periodic job ended.",
                              labels=["job"])
    for name in cache.get(JOB_NAMES_KEY) or ():
        run = job_last_run(name)
        if run:
            duration.add_metric([name], run["seconds"])
            ended.add_metric([name], run["at"])
    yield duration
    yield ended


class BusinessCollector:
    def describe(self):
        return []  # nothing to check at registration: the sources read the database at scrape time

    def collect(self):
        for source in SOURCES:
            yield from source()


_business = CollectorRegistry()
_business.register(BusinessCollector())


def metrics_text() -> bytes:
    """The exposition text: the processes' own metrics, then the business ones."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(_business)


def metrics_allowed(request) -> bool:
    """From a configured network (METRICS_ALLOWED_NETWORKS), or with `Authorization: Bearer
    <METRICS_TOKEN>`."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_NETWORKS)

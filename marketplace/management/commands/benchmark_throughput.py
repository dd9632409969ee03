"""Page throughput with one and with two web instances, measured from outside.

Starts gunicorn as production does (DJANGO_DEBUG=false, gunicorn.conf.py) once with one instance,
then with two on two ports, each instance `--workers` processes of `--threads` threads, on the
database the command runs against (DATABASE_URL; `seed_demo` or `seed_listings` first). For each
page (/healthz, browse, a search) it sends requests from `--clients` threads for `--seconds`,
spread over the instances, and counts the answers; every answer must be 200. Loopback only, and
bounded in time and count (`--max-requests` per page and set-up).

    python -m cadcam.embedded -- python manage.py benchmark_throughput

The load comes from this machine too: on 2 cores the client threads take CPU from the servers,
so the figures are a comparison between set-ups on one machine, not a capacity.
"""

from __future__ import annotations

from contextlib import ExitStack

from django.core.management.base import BaseCommand, CommandError

from listings.models import Listing
from marketplace.benchmarking import gunicorn, load_average, load_from_threads

PAGES = {
    "/healthz": "/healthz",
    "browse": "/listings/",
    "search": "/listings/?q=zirconia+crown&sort=relevance",
}


def hammer(bases: list[str], path: str, *, clients: int, seconds: float, max_requests: int) -> tuple[int, float]:
    """(answers, seconds taken) for `clients` threads asking `path` of the instances in turn."""
    result = load_from_threads([base + path for base in bases], seconds=seconds, clients=clients,
                               max_requests=max_requests)
    if result["bad"]:
        raise CommandError(f"{path}: {result['bad']} answers were not 200.")
    return result["requests"], result["seconds"]


class Command(BaseCommand):
    help = "Requests per second for /healthz, browse and a search, with one and with two gunicorn instances."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=1, help="gunicorn worker processes per instance")
        parser.add_argument("--threads", type=int, default=2, help="threads per worker")
        parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
        parser.add_argument("--seconds", type=float, default=10.0, help="how long each page is asked for")
        parser.add_argument("--max-requests", type=int, default=20_000, help="at most this many per page")
        parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load first")

    def handle(self, *args, workers, threads, clients, seconds, max_requests, warmup, **options):
        published = Listing.objects.filter(status=Listing.Status.PUBLISHED, edit_of__isnull=True).count()
        if not published:
            raise CommandError("No published listings: run `python manage.py seed_demo` (or seed_listings) first.")
        self.stdout.write(f"Published listings: {published}. Each instance: {workers} worker(s) x {threads} "
                          f"thread(s); {clients} client threads, {seconds:g} s per page. "
                          f"Load average: {load_average()}")
        results: dict[int, dict[str, float]] = {}
        for instances in (1, 2):
            with ExitStack() as stack:
                bases = [stack.enter_context(gunicorn(workers=workers, threads=threads))[0] for _ in range(instances)]
                results[instances] = {}
                for label, path in PAGES.items():
                    hammer(bases, path, clients=clients, seconds=warmup, max_requests=max_requests)
                    answered, took = hammer(bases, path, clients=clients, seconds=seconds, max_requests=max_requests)
                    results[instances][label] = answered / took
        self.stdout.write(f"{'page':10} {'1 instance':>12} {'2 instances':>12} {'2 : 1':>7}")
        for label in PAGES:
            one, two = results[1][label], results[2][label]
            self.stdout.write(f"{label:10} {one:>8.1f} r/s {two:>8.1f} r/s {two / one:>7.2f}")
        for instances in (1, 2):
            healthz = results[instances]["/healthz"]
            ratios = ", ".join(f"{label} {results[instances][label] / healthz:.2f}"
                               for label in PAGES if label != "/healthz")
            self.stdout.write(f"as a share of /healthz with {instances}: {ratios}")
        self.stdout.write(f"Load average after: {load_average()}")

"""Load test through gunicorn, as an outsider sees the site: the browse page, searches and
/healthz side by side in one run, with one and with two worker processes.

    python -m cadcam.embedded -- python manage.py benchmark_load [--seconds 10] [--connections 8]

gunicorn runs as production runs it (DJANGO_DEBUG=false, gunicorn.conf.py) on a free loopback
port, against the database and Redis the command runs with (`seed_listings --count 100000`
first for figures worth comparing). Each scenario is a fixed rotation of addresses; the load
comes from `wrk` (keep-alive connections, like a browser or a proxy's pool) when it is
installed, else from Python threads (which take far more of the machine's CPU themselves).
Every answer must be 200. Loopback only; bounded by --seconds per scenario.

It prints, for each worker count and scenario: requests per second, p50/p95/p99 latency, the
share of /healthz's throughput measured in the same round, the ratio of two workers to one,
and the load average before and after. `--no-cache` runs the servers with the browse cache
off (BROWSE_CACHE_SECONDS=0), which measures the database and template path alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from contextlib import ExitStack
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from listings.models import Listing
from marketplace.benchmarking import gunicorn, load_average, load_from_threads

SCENARIOS = {
    "/healthz": ["/healthz"],
    "browse": [
        "/listings/", "/listings/?sort=newest", "/listings/?sort=price_asc", "/listings/?category=crowns-bridges",
        "/listings/?page=2", "/listings/?sort=rating",
    ],
    "search": [
        "/listings/?q=crown", "/listings/?q=zirc", "/listings/?q=dent", "/listings/?q=crown&sort=price_asc",
        "/listings/?q=zirc&sort=newest", "/listings/?q=dent&page=4", "/listings/?q=crown&page=4",
        "/listings/?q=zirconia+crown", "/listings/?q=zirc&sort=price_desc", "/listings/?q=dent&sort=rating",
    ],
}

# wrk calls request() for every request of each of its threads; done() once at the end.
WRK_SCRIPT = """
local paths = {%(paths)s}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1], {["X-Forwarded-Proto"] = "https"})
end
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "seconds": %%f, "bad": %%d, "p50": %%d, "p95": %%d, "p99": %%d}\\n',
    summary.requests, summary.duration / 1e6,
    errors.status + errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def run_wrk(base: str, paths: list[str], *, seconds: float, connections: int, threads: int) -> dict:
    """requests, seconds, bad answers and latency percentiles (ms) from wrk."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"paths": ", ".join(json.dumps(path) for path in paths)})
    try:
        finished = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
             "-s", script.name, base], capture_output=True, text=True, timeout=seconds + 60,
        )
    finally:
        Path(script.name).unlink()
    line = next((line for line in finished.stdout.splitlines() if line.startswith("RESULT ")), None)
    if finished.returncode or line is None:
        raise CommandError(f"wrk failed: {finished.stdout}{finished.stderr}")
    result = json.loads(line.removeprefix("RESULT "))
    for key in ("p50", "p95", "p99"):
        result[key] /= 1000  # wrk measures in microseconds
    return result


def run_threads(base: str, paths: list[str], *, seconds: float, connections: int, threads: int) -> dict:
    """The same figures from Python threads, one keep-alive session each (no wrk here)."""
    return load_from_threads([base + path for path in paths], seconds=seconds, clients=connections)


class Command(BaseCommand):
    help = "Requests per second and latency of /healthz, browse and search through gunicorn, 1 and 2 workers."

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per scenario")
        parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds per scenario first")
        parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
        parser.add_argument("--threads", type=int, default=2, help="gunicorn threads per worker")
        parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare")
        parser.add_argument("--scenario", choices=SCENARIOS, nargs="+", default=list(SCENARIOS))
        parser.add_argument("--no-cache", action="store_true", help="run the servers with the browse cache off")
        parser.add_argument("--python-client", action="store_true", help="use Python threads even if wrk is there")

    def handle(self, *args, seconds, warmup, connections, threads, workers, scenario, no_cache, python_client,
               **options):
        if not 1 <= seconds <= 120 or not 1 <= connections <= 64:
            raise CommandError("Keep it bounded: 1-120 seconds and 1-64 connections per scenario.")
        published = Listing.objects.filter(status=Listing.Status.PUBLISHED, edit_of__isnull=True).count()
        if not published:
            raise CommandError("No published listings: run `python manage.py seed_listings --count 100000` first.")
        load = run_threads if python_client or not shutil.which("wrk") else run_wrk
        scenarios = {name: SCENARIOS[name] for name in ("/healthz", *scenario) if name in SCENARIOS}
        extra_env = {"BROWSE_CACHE_SECONDS": "0"} if no_cache else {}
        self.stdout.write(
            f"Published listings: {published}. gunicorn: {', '.join(map(str, workers))} worker(s) x {threads} "
            f"thread(s); load from {'wrk' if load is run_wrk else 'Python threads'}, {connections} keep-alive "
            f"connections, {seconds:g} s per scenario; browse cache {'off' if no_cache else 'on'}.\n"
            f"Load average before: {load_average()}"
        )
        results: dict[int, dict[str, dict]] = {}
        for count in workers:
            with ExitStack() as stack:
                base, _master = stack.enter_context(gunicorn(extra_env, workers=count, threads=threads))
                results[count] = {}
                for name, paths in scenarios.items():
                    load(base, paths, seconds=warmup, connections=connections, threads=min(connections, 2))
                    result = load(base, paths, seconds=seconds, connections=connections, threads=min(connections, 2))
                    if result["bad"]:
                        raise CommandError(f"{name}: {result['bad']} answers were not 200.")
                    result["rate"] = result["requests"] / result["seconds"]
                    results[count][name] = result
        self.stdout.write(f"{'workers':>7} {'scenario':10} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
                          f"{'of /healthz':>11}")
        for count, rows in results.items():
            healthz = rows["/healthz"]["rate"]
            for name, row in rows.items():
                self.stdout.write(f"{count:>7} {name:10} {row['rate']:>9.1f} {row['p50']:>8.1f} {row['p95']:>8.1f} "
                                  f"{row['p99']:>8.1f} {row['rate'] / healthz:>10.1%}")
        if len(results) > 1:
            first, *others = results
            for count in others:
                ratios = ", ".join(f"{name} {results[count][name]['rate'] / results[first][name]['rate']:.2f}x"
                                   for name in scenarios)
                self.stdout.write(f"{count} workers vs {first}: {ratios}")
        self.stdout.write(f"Load average after: {load_average()}")

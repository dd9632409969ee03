"""The deadline sweep at scale, measured from outside (docs/performance.md, issue 17).

Creates `--orders` due orders in bulk (by default 80 % waiting for a designer past their
`accept_by`, with an authorized payment at the simulated gateway, and 20 % accepted past
their `auto_complete_at`), between `--accounts` synthetic clients and as many designers on
example.invalid, then runs one sweep and reports the wall time, orders per second, the peak
memory (RSS) of the processes that ran it, the e-mails and tasks it queued and Redis's memory.

    python -m cadcam.embedded -- python manage.py benchmark_sweep [--orders 100000] [--workers 1]

`--mode celery` (the default) starts `--workers` Celery worker processes of `--concurrency`
each on this database and Redis, sends `orders.tasks.run_deadlines` as the beat does, and waits
until nothing is due and the queue is empty (at most `--timeout` seconds). E-mails are written to
files in a temporary folder, one file a message. `--mode inline` runs `orders_sweep()` in this
process (what `manage.py run_deadlines` does) with no worker: the tasks it queues stay in Redis
and are counted there, then removed. The synthetic rows are removed first (`--keep` leaves them).
Loopback only; the simulated gateway only (refuses to run with STRIPE_SECRET_KEY set).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import psutil
import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Profile, User
from listings.models import Category, Listing
from orders.models import Order, OrderEvent
from payments.gateway import PaymentStatus
from payments.models import LedgerEntry, MoneyOperation, SimulatedOperation, SimulatedPayment

DOMAIN = "sweep-bench.example.invalid"
BATCH = 5_000
MAX_ORDERS = 1_000_000
QUEUE = "celery"


def due_now() -> Q:
    now = timezone.now()
    S = Order.Status
    return (Q(status=S.REQUESTED, accept_by__lte=now)
            | Q(status__in=[S.ACCEPTED, S.DELIVERED], auto_complete_at__lte=now))


class Sampler(threading.Thread):
    """Peak RSS of a set of processes and peak Redis memory, sampled every 0.2 s."""

    def __init__(self, processes, client: redis.Redis):
        super().__init__(daemon=True)
        self.processes, self.client = processes, client
        self.peak_rss = self.peak_rss_sum = self.peak_redis = self.peak_queue = 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            self.sample()
            self.stopping.wait(0.2)

    def sample(self):
        rss = []
        for process in self.processes():
            try:
                rss.append(process.memory_info().rss)
            except psutil.Error:
                continue
        if rss:
            self.peak_rss, self.peak_rss_sum = max(self.peak_rss, *rss), max(self.peak_rss_sum, sum(rss))
        with_redis = self.client.info("memory")["used_memory"]
        self.peak_redis = max(self.peak_redis, with_redis)
        self.peak_queue = max(self.peak_queue, self.client.llen(QUEUE))

    def stop(self):
        self.stopping.set()
        self.join(5)
        self.sample()


def mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB"


class Command(BaseCommand):
    help = "Create N due orders (synthetic, simulated gateway) and time one deadline sweep over them."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=100_000)
        parser.add_argument("--completions", type=float, default=0.2, help="share of auto-completions")
        parser.add_argument("--accounts", type=int, default=1_000, help="clients, and as many designers")
        parser.add_argument("--mode", choices=["celery", "inline"], default="celery")
        parser.add_argument("--workers", type=int, default=1, help="Celery worker processes (celery mode)")
        parser.add_argument("--concurrency", type=int, default=2, help="pool size of each worker")
        parser.add_argument("--timeout", type=float, default=3600, help="give up after this many seconds")
        parser.add_argument("--keep", action="store_true", help="keep the synthetic rows afterwards")

    def handle(self, *args, orders, completions, accounts, mode, workers, concurrency, timeout, keep, **options):
        if settings.STRIPE_SECRET_KEY:
            raise CommandError("The benchmark runs on the simulated gateway only: unset STRIPE_SECRET_KEY.")
        if not 1 <= orders <= MAX_ORDERS:
            raise CommandError(f"--orders must be from 1 to {MAX_ORDERS}.")
        client = redis.Redis.from_url(settings.REDIS_URL)
        self.clean()
        started = time.monotonic()
        self.create(orders, completions, accounts)
        self.stdout.write(f"created {orders} due orders in {time.monotonic() - started:.0f} s")
        client.delete(QUEUE)
        redis_before = client.info("memory")["used_memory"]
        due = Order.objects.filter(due_now(), employer__email__endswith=DOMAIN).count()
        if mode == "inline":
            report = self.run_inline(client)
        else:
            report = self.run_celery(client, workers=workers, concurrency=concurrency, timeout=timeout)
        left = Order.objects.filter(due_now(), employer__email__endswith=DOMAIN).count()
        events = OrderEvent.objects.filter(order__employer__email__endswith=DOMAIN, actor__isnull=True).count()
        seconds = report["seconds"]
        self.stdout.write(
            f"mode {mode}: {due - left} of {due} due orders swept in {seconds:.1f} s "
            f"({(due - left) / seconds:.0f} orders/s); {left} still due; {events} system events\n"
            f"peak RSS: {mb(report['peak_rss'])} (one process), {mb(report['peak_rss_sum'])} (all)\n"
            f"Redis: {mb(report['peak_redis'] - redis_before)} more at the peak "
            f"(peak {mb(report['peak_redis'])}), longest queue {report['peak_queue']} tasks\n"
            f"e-mails: {report['emails']}; tasks: {report['tasks']}"
        )
        client.delete(QUEUE)
        if not keep:
            self.clean()

    # --- the data --------------------------------------------------------------------------------------

    def create(self, orders: int, completions: float, accounts: int) -> None:
        now = timezone.now()
        category = Category.objects.order_by("pk").first()
        if category is None:
            raise CommandError("No category: run migrate first.")
        people = [User(email=f"{role}{n}@{DOMAIN}", username=f"sweep-{role}-{n}", password="!")
                  for role in ("client", "designer") for n in range(accounts)]
        User.objects.bulk_create(people, batch_size=BATCH)
        people = list(User.objects.filter(email__endswith=DOMAIN).order_by("pk"))
        Profile.objects.bulk_create([Profile(user=user, display_name=user.username, time_zone="Europe/Berlin")
                                     for user in people], batch_size=BATCH)
        clients = [u for u in people if u.email.startswith("client")]
        designers = [u for u in people if u.email.startswith("designer")]
        listings = Listing.objects.bulk_create([
            Listing(owner=designer, status=Listing.Status.PUBLISHED, title="Zirconia crown design", slug="crown",
                    category=category, description="Synthetic listing for the sweep benchmark.",
                    price_cents=2500, turnaround_days=2, published_at=now)
            for designer in designers
        ], batch_size=BATCH)
        to_complete = int(orders * completions)
        S = Order.Status
        for first in range(0, orders, BATCH):
            rows = range(first, min(first + BATCH, orders))
            payments = SimulatedPayment.objects.bulk_create([
                SimulatedPayment(status=PaymentStatus.REQUIRES_CAPTURE if n >= to_complete
                                 else PaymentStatus.SUCCEEDED, amount_cents=2500, currency="USD", reference="bench")
                for n in rows
            ])
            batch = []
            for n, payment in zip(rows, payments, strict=True):
                listing = listings[n % len(listings)]
                common = dict(employer=clients[(n // 7) % len(clients)], freelancer=listing.owner, listing=listing,
                              title=listing.title, unit_price_cents=2500, total_cents=2500, fee_cents=349,
                              net_cents=2151, revisions_included=1, turnaround_days=2,
                              payment_id=payment.gateway_id, authorized_at=now - timedelta(days=4))
                if n >= to_complete:
                    batch.append(Order(status=S.REQUESTED, accept_by=now - timedelta(minutes=5),
                                       accept_reminder_sent_at=now - timedelta(days=1), **common))
                else:
                    batch.append(Order(status=S.ACCEPTED, accepted_at=now - timedelta(days=31),
                                       auto_complete_at=now - timedelta(minutes=5),
                                       complete_reminder_sent_at=now - timedelta(days=3), **common))
            made = Order.objects.bulk_create(batch)
            LedgerEntry.objects.bulk_create(
                [LedgerEntry(order=o, kind=LedgerEntry.Kind.AUTHORIZED, amount_cents=2500, currency="USD",
                             gateway_id=o.payment_id) for o in made]
                + [LedgerEntry(order=o, kind=LedgerEntry.Kind.CAPTURED, amount_cents=2500, currency="USD",
                               gateway_id=o.payment_id.replace("sim_pi_", "sim_ch_"))
                   for o in made if o.status == S.ACCEPTED]
            )

    def clean(self) -> None:
        """Remove the synthetic rows of an earlier run (in batches: bounded)."""
        synthetic = Order.objects.filter(employer__email__endswith=DOMAIN)
        while True:
            ids = list(synthetic.order_by("pk").values_list("pk", flat=True)[:BATCH])
            if not ids:
                break
            with transaction.atomic():
                payments = [int(p[len("sim_pi_"):]) for p in Order.objects.filter(pk__in=ids)
                            .exclude(payment_id="").values_list("payment_id", flat=True)]
                LedgerEntry.objects.filter(order_id__in=ids).delete()
                MoneyOperation.objects.filter(order_id__in=ids).delete()
                for model in _registered_order_rows():
                    model.objects.filter(order_id__in=ids).delete()
                Order.objects.filter(pk__in=ids).delete()
                SimulatedOperation.objects.filter(payment_id__in=payments).delete()
                SimulatedPayment.objects.filter(pk__in=payments).delete()
        Listing.objects.filter(owner__email__endswith=DOMAIN).delete()
        User.objects.filter(email__endswith=DOMAIN).delete()

    # --- the runs ----------------------------------------------------------------------------------------

    def run_inline(self, client: redis.Redis) -> dict:
        from orders.deadlines import orders_sweep

        me = psutil.Process()
        sampler = Sampler(lambda: [me], client)
        sampler.start()
        started = time.monotonic()
        orders_sweep()
        seconds = time.monotonic() - started
        sampler.stop()
        queued = client.llen(QUEUE)
        names = _queued_task_names(client)
        return {"seconds": seconds, "peak_rss": sampler.peak_rss, "peak_rss_sum": sampler.peak_rss_sum,
                "peak_redis": sampler.peak_redis, "peak_queue": sampler.peak_queue,
                "emails": f"{names.get('cadcam.tasks.send_email', 0)} queued (not sent: no worker)",
                "tasks": f"{queued} left in the queue {dict(names)}"}

    def run_celery(self, client: redis.Redis, *, workers: int, concurrency: int, timeout: float) -> dict:
        from cadcam.celery import app
        from orders.tasks import run_deadlines

        outbox = Path(tempfile.mkdtemp(prefix="cadcam-sweep-mail-"))
        env = os.environ | {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                            "EMAIL_FILE_PATH": str(outbox), "DJANGO_LOG_LEVEL": "WARNING"}
        log = open(outbox.parent / f"{outbox.name}.log", "wb")  # noqa: SIM115 - closed below
        processes = [
            subprocess.Popen([sys.executable, "-m", "celery", "-A", "cadcam", "worker", "--loglevel=WARNING",
                              f"--concurrency={concurrency}", "-n", f"bench{n}@%h", "--without-gossip",
                              "--without-mingle", "-Q", QUEUE], env=env, cwd=settings.BASE_DIR,
                             stdout=log, stderr=subprocess.STDOUT)
            for n in range(workers)
        ]

        def tree():
            found = []
            for process in processes:
                try:
                    parent = psutil.Process(process.pid)
                    found += [parent, *parent.children(recursive=True)]
                except psutil.Error:
                    continue
            return found

        try:
            deadline = time.monotonic() + 120
            while len(app.control.inspect(timeout=1, limit=workers).ping() or {}) < workers:
                if time.monotonic() > deadline:
                    raise CommandError(f"The workers did not start (log: {log.name}).")
            connection.close()
            sampler = Sampler(tree, client)
            sampler.start()
            started = time.monotonic()
            run_deadlines.delay()
            idle_since = None
            while True:
                time.sleep(0.5)
                if time.monotonic() - started > timeout:
                    raise CommandError(f"Not finished after {timeout:.0f} s.")
                inspect = app.control.inspect(timeout=1, limit=workers)
                busy = sum(len(tasks) for tasks in (inspect.active() or {}).values())
                busy += sum(len(tasks) for tasks in (inspect.reserved() or {}).values())
                if busy or client.llen(QUEUE):
                    idle_since = None
                    continue
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= 1.5:
                    break
            seconds = idle_since - started
            sampler.stop()
            stats = app.control.inspect(timeout=2, limit=workers).stats() or {}
            totals: dict[str, int] = {}
            for worker in stats.values():
                for name, count in (worker.get("total") or {}).items():
                    totals[name] = totals.get(name, 0) + count
            # The file backend appends messages sent within one second to one file: count separators.
            emails = sum(path.read_bytes().count(b"-" * 79 + b"\n") for path in outbox.iterdir())
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    process.kill()
            log.close()
        return {"seconds": seconds, "peak_rss": sampler.peak_rss, "peak_rss_sum": sampler.peak_rss_sum,
                "peak_redis": sampler.peak_redis, "peak_queue": sampler.peak_queue,
                "emails": f"{emails} sent (files in {outbox})", "tasks": f"{sum(totals.values())} run {totals}"}


def _queued_task_names(client: redis.Redis) -> dict[str, int]:
    """Task names in the queue, read in pages (kombu's JSON messages carry the name in a header)."""
    import json

    names: dict[str, int] = {}
    length = client.llen(QUEUE)
    for first in range(0, length, 1000):
        for raw in client.lrange(QUEUE, first, first + 999):
            name = json.loads(raw).get("headers", {}).get("task", "?")
            names[name] = names.get(name, 0) + 1
    return names


def _registered_order_rows():
    """Models with an `order` foreign key in the orders app (events, options, files, notices)."""
    from django.apps import apps

    return [model for model in apps.get_app_config("orders").get_models()
            if model is not Order and any(f.name == "order" for f in model._meta.fields)]

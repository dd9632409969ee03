"""What a 100 MB case file costs the web worker, measured from outside.

Starts a local S3 server (moto, a development dependency) unless --endpoint names one, and
gunicorn twice with production settings (DJANGO_DEBUG=false, one worker, one thread): once with
files on S3, once on the local disk. In each it sends one 100 MB binary STL with a Send Case
the way the browser does (S3: ask for the upload, send the parts to the bucket, complete, post
the form with the token; local: post the form with the file) as a demo client (`seed_demo`
first). It reads the worker's resident memory and CPU time (psutil) before and after, and times
/healthz in the same run as the yardstick.

    python -m cadcam.embedded -- python manage.py seed_demo
    python -m cadcam.embedded -- python manage.py benchmark_upload
"""

import math
import os
import secrets
import statistics
import struct
import subprocess
import sys
import time
from contextlib import contextmanager

import boto3
import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import Client

from accounts.models import User
from listings.models import Listing
from marketplace.benchmarking import HOST, free_port, gunicorn, load_average, wait_for, worker_processes

MB = 1024 * 1024


def binary_stl(size_limit: int) -> bytes:
    """A valid binary STL of at most size_limit bytes (84 + 50 per triangle)."""
    triangles = (size_limit - 84) // 50
    triangle = struct.pack("<12fH", 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0)
    return b"benchmark".ljust(80, b" ") + struct.pack("<I", triangles) + triangle * triangles


class Worker:
    """The one gunicorn worker: its memory and CPU time."""

    def __init__(self, master: subprocess.Popen):
        self.process = worker_processes(master)[0]

    def sample(self) -> tuple[int, float]:
        times = self.process.cpu_times()
        return self.process.memory_info().rss, times.user + times.system


class Command(BaseCommand):
    help = "Measure what a 100 MB case-file upload costs the gunicorn worker, on S3 and on the local disk."

    def add_arguments(self, parser):
        parser.add_argument("--size-mb", type=int, default=100, help="The file's size (at most 100).")
        parser.add_argument("--endpoint", help="An S3 endpoint to use instead of starting moto.")
        parser.add_argument("--bucket", default=f"cadcam-benchmark-{secrets.token_hex(4)}")

    def handle(self, *args, size_mb, endpoint, bucket, **options):
        employer = User.objects.filter(email="employer@cadcam.test").first()
        listing = Listing.objects.filter(status=Listing.Status.PUBLISHED, edit_of__isnull=True, is_private=False) \
            .exclude(owner=employer).order_by("pk").first()
        if employer is None or listing is None:
            raise CommandError("Run `python manage.py seed_demo` first: the benchmark sends a demo client's case.")
        data = binary_stl(min(size_mb, 100) * MB)
        self.stdout.write(f"File: binary STL of {len(data) / MB:.1f} MB. Load average: {load_average()}")
        with self._s3(endpoint, bucket) as s3_env:
            results = {
                "S3 (direct upload)": self._run(s3_env, employer, listing, data, direct=True),
                "local disk (streamed)": self._run({}, employer, listing, data, direct=False),
            }
        self.stdout.write(f"{'mode':24} {'web requests':>12} {'worker RSS growth':>18} {'worker CPU':>11} "
                          f"{'wall':>7} {'healthz p50':>12}")
        for mode, result in results.items():
            self.stdout.write(
                f"{mode:24} {result['requests']:>12} {result['rss'] / MB:>15.1f} MB {result['cpu']:>9.2f} s "
                f"{result['wall']:>5.1f} s {result['healthz'] * 1000:>9.1f} ms"
            )
            self.stdout.write(f"  worker CPU for the upload = {result['cpu'] / result['healthz_cpu']:.0f}x "
                              f"the CPU of one /healthz; the web requests took "
                              f"{result['web_wall'] / result['healthz']:.0f}x one /healthz: " + ", ".join(
                                  f"{path} {seconds * 1000:.0f} ms" for path, seconds in result["spent"]))
        self.stdout.write(f"Load average after: {load_average()}")

    @contextmanager
    def _s3(self, endpoint, bucket):
        server = None
        if not endpoint:
            port = free_port()
            server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            endpoint = f"http://{HOST}:{port}"
            wait_for(f"{endpoint}/moto-api/")
        env = {"AWS_STORAGE_BUCKET_NAME": bucket, "AWS_S3_ENDPOINT_URL": endpoint, "AWS_S3_REGION_NAME": "us-east-1",
               "AWS_S3_ADDRESSING_STYLE": "path", "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "bench"),
               "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "bench")}
        try:
            boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                         aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                         aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"]).create_bucket(Bucket=bucket)
            yield env
        finally:
            if server is not None:
                server.terminate()
                server.wait(10)

    @contextmanager
    def _gunicorn(self, extra_env):
        # Run after run, the demo client sends more cases than one account may in an hour.
        limits = {"SEND_CASE_PER_HOUR": "100000", "UNPAID_CASE_FILES_QUOTA_BYTES": str(10**15),
                  "DIRECT_UPLOADS_PENDING_QUOTA_BYTES": str(10**15)}
        with gunicorn(extra_env | limits) as (base, master):
            yield base, Worker(master)

    def _session(self, employer) -> requests.Session:
        client = Client()
        client.force_login(employer)
        csrf = secrets.token_urlsafe(24)[:32].replace("-", "a").replace("_", "b")
        session = requests.Session()
        session.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
        session.cookies.set(settings.CSRF_COOKIE_NAME, csrf)
        session.headers.update({"X-CSRFToken": csrf, "X-Forwarded-Proto": "https", "Referer": f"https://{HOST}/"})
        return session

    def _healthz(self, base: str, worker: Worker) -> tuple[float, float]:
        timings, (_, cpu_before) = [], worker.sample()
        for _ in range(30):
            started = time.perf_counter()
            requests.get(f"{base}/healthz", timeout=10).raise_for_status()
            timings.append(time.perf_counter() - started)
        return statistics.median(timings), (worker.sample()[1] - cpu_before) / 30

    def _run(self, extra_env, employer, listing, data: bytes, *, direct: bool) -> dict:
        with self._gunicorn(extra_env) as (base, worker):
            session = self._session(employer)
            healthz, healthz_cpu = self._healthz(base, worker)
            # A first small case warms the worker up (boto3 loads its service models on first use).
            self._send(base, session, listing, binary_stl(4096), direct=direct)
            rss_before, cpu_before = worker.sample()
            started = time.perf_counter()
            spent = self._send(base, session, listing, data, direct=direct)
            wall = time.perf_counter() - started
            rss_after, cpu_after = worker.sample()
            return {"requests": len(spent), "rss": rss_after - rss_before, "cpu": cpu_after - cpu_before,
                    "wall": wall, "web_wall": sum(seconds for _, seconds in spent), "spent": spent,
                    "healthz": healthz, "healthz_cpu": max(healthz_cpu, 1e-4)}

    def _send(self, base: str, session, listing, data: bytes, *, direct: bool) -> list[tuple[str, float]]:
        """One Send Case with one file, as the browser sends it; returns (path, seconds) of each
        request to the web server."""
        send_case = f"{base}/listings/{listing.pk}/send-case/"
        spent: list[tuple[str, float]] = []

        def timed(call, url, **kwargs):
            began = time.perf_counter()
            response = call(url, **kwargs)
            spent.append((url.removeprefix(base).split("?")[0], time.perf_counter() - began))
            return response

        if direct:
            answer = timed(session.post, f"{base}/uploads/", json={"name": "benchmark.stl", "size": len(data)})
            if answer.status_code != 201:
                raise CommandError(f"The upload did not start: {answer.status_code} {answer.text[:300]}")
            answer = answer.json()
            if "post" in answer:
                requests.post(answer["post"]["url"], data=answer["post"]["fields"],
                              files={"file": ("blob", data)}, timeout=120).raise_for_status()
            else:
                part = answer["part_size"]
                assert len(answer["parts"]) == math.ceil(len(data) / part)
                for index, url in enumerate(answer["parts"]):  # straight to the bucket, not through gunicorn
                    requests.put(url, data=data[index * part:(index + 1) * part], timeout=120).raise_for_status()
            timed(session.post, f"{base}{answer['complete_url']}").raise_for_status()
            response = timed(session.post, send_case, data={"quantity": "1", "files": answer["token"]},
                             allow_redirects=False)
        else:
            response = timed(session.post, send_case, data={"quantity": "1"},
                             files={"files": ("benchmark.stl", data, "application/octet-stream")},
                             allow_redirects=False, timeout=300)
        if response.status_code != 302 or "/pay/" not in response.headers.get("Location", ""):
            raise CommandError(f"Send Case failed: {response.status_code} {response.text[:500]}")
        return spent

"""What the benchmark commands share: gunicorn started as production starts it (DJANGO_DEBUG=false,
gunicorn.conf.py), on a free loopback port, stopped afterwards; the suite's database and Redis
are the caller's (DATABASE_URL, REDIS_URL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psutil
import requests
from django.conf import settings
from django.core.management.base import CommandError

from listings.management.commands.benchmark_search import percentile

HOST = "127.0.0.1"
# Headless Chromium as the browser tests start it (e2e/conftest.py) and benchmark_picking too:
# no GPU (WebGL on SwiftShader), nothing fetched from the network behind the page's back.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise CommandError(f"{url} did not answer within {seconds} s.") from None
            time.sleep(0.2)


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def collect_static() -> None:
    """collectstatic as production runs it (DJANGO_DEBUG=false: hashed names and a manifest),
    so pages whose static files are newer than the last collection render under gunicorn."""
    env = os.environ | {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": settings.SECRET_KEY,
                        "DJANGO_ALLOWED_HOSTS": HOST}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env=env,
                   cwd=settings.BASE_DIR, check=True, timeout=600)


@contextmanager
def gunicorn(extra_env: dict | None = None, *, workers: int = 1, threads: int = 1):
    """One production gunicorn; yields (base URL, master process). Its log is kept in a
    temporary folder, named in the error when something fails. Uploads go to a fresh folder
    unless `extra_env` names one."""
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="cadcam-bench-"))
    (folder / "prometheus").mkdir()
    env = os.environ | {
        "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": settings.SECRET_KEY, "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_SECURE_SSL_REDIRECT": "false", "GUNICORN_BIND": f"{HOST}:{port}", "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads), "DJANGO_MEDIA_ROOT": str(folder / "media"),
        "DJANGO_PRIVATE_MEDIA_ROOT": str(folder / "private"), "DJANGO_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "prometheus"),
    } | (extra_env or {})  # a caller may serve files it stored (DJANGO_PRIVATE_MEDIA_ROOT)
    log = open(folder / "gunicorn.log", "wb")  # noqa: SIM115 - closed with the server below
    master = subprocess.Popen([sys.executable, "-m", "gunicorn", "cadcam.wsgi", "-c", "gunicorn.conf.py",
                               "--access-logfile", "/dev/null"], env=env, cwd=settings.BASE_DIR,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://{HOST}:{port}/healthz")
        yield f"http://{HOST}:{port}", master
    except CommandError as error:
        raise CommandError(f"{error} (the server's log: {folder / 'gunicorn.log'})") from None
    finally:
        master.send_signal(signal.SIGTERM)
        master.wait(30)
        log.close()


def worker_processes(master: subprocess.Popen, count: int = 1, seconds: float = 30) -> list[psutil.Process]:
    deadline = time.monotonic() + seconds
    while len(psutil.Process(master.pid).children()) < count:
        if time.monotonic() > deadline:
            raise CommandError("gunicorn started no worker.")
        time.sleep(0.1)
    return psutil.Process(master.pid).children()


def load_from_threads(urls: list[str], *, seconds: float, clients: int, max_requests: int | None = None) -> dict:
    """`clients` threads, each on a keep-alive session, asking for `urls` in turn (each thread
    from its own place in the list) for `seconds`, or until `max_requests` answers: requests,
    seconds, answers that were not 200 ("bad") and p50/p95/p99 in ms."""
    timings: list[float] = []
    bad = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        session = requests.Session()
        session.headers["X-Forwarded-Proto"] = "https"
        index = offset
        while time.monotonic() < deadline:
            with lock:
                if max_requests is not None and len(timings) >= max_requests:
                    return
            started = time.perf_counter()
            response = session.get(urls[index % len(urls)], timeout=30)
            took = (time.perf_counter() - started) * 1000
            index += 1
            with lock:
                timings.append(took)
                bad[0] += response.status_code != 200

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.monotonic() - started
    timings.sort()
    figures = {key: percentile(timings, percent) if timings else 0.0
               for key, percent in (("p50", 50), ("p95", 95), ("p99", 99))}
    return {"requests": len(timings), "seconds": took, "bad": bad[0], **figures}

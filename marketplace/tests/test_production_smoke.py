"""The production configuration, booted as production boots it: DJANGO_DEBUG=false after
`collectstatic`, two gunicorn instances on two ports, a Celery worker and a Celery beat, against
the suite's PostgreSQL and Redis, with files on the S3 test server (moto). A whole order is
driven over HTTP, every request going to the other instance than the one before: sign-up and
the e-mailed link, Send Case with a case file sent straight to the bucket, pay, accept, deliver
(a file posted through gunicorn), download, complete. Sessions, files and e-mails must work
whichever instance answers, and no process may log an error.

The designer's account and listing are made with the services staff's admin actions call
(identity verified, listing approved): the admin's second factor is not what this proves.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import secrets
import signal
import struct
import subprocess
import sys
import time
from itertools import cycle
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
import redis
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from cadcam.beat import LOCK_NAME
from cadcam.tests.databases import database_url
from listings.tests.helpers import make_published
from marketplace.benchmarking import HOST, free_port
from orders.models import Order

pytestmark = [pytest.mark.smoke, pytest.mark.django_db(transaction=True)]

PASSWORD = "Smoke-test passphrase 2026!"


def redis_url_with_db(url: str, db: int) -> str:
    """The same Redis, another database number: the smoke test's queue and cache are its own."""
    if url.startswith("unix://"):
        return f"{url.split('?')[0]}?db={db}"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/{db}"


def stl(triangles: int) -> bytes:
    body = struct.pack("<12fH", *([0.0] * 12), 0) * triangles
    return b"smoke test".ljust(80, b" ") + struct.pack("<I", triangles) + body


class Browser:
    """A person's browser, except that every request goes to the other web instance. Cookies
    are kept by hand: production marks them Secure, and we speak plain HTTP behind a pretend
    TLS proxy (X-Forwarded-Proto: https)."""

    def __init__(self, bases: list[str]):
        self.bases = cycle(bases)
        self.cookies: dict[str, str] = {}
        self.served_by: list[str] = []

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        base = next(self.bases)
        self.served_by.append(base)
        headers = {"X-Forwarded-Proto": "https", "Referer": f"https://{urlsplit(base).netloc}/",
                   "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **kwargs.pop("headers", {})}
        response = requests.request(method, base + path, headers=headers, allow_redirects=False, timeout=60, **kwargs)
        for cookie in response.cookies:
            self.cookies[cookie.name] = cookie.value
        return response

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data=None, **kwargs):
        """Posts as a form does: with the CSRF token of a page fetched first (from the other instance)."""
        page = self.get(kwargs.pop("form_page", path))
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return self.request("POST", path, data={**(data or {}), "csrfmiddlewaretoken": token}, **kwargs)

    def token(self) -> str:
        page = self.get("/dashboard/")
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


class Stack:
    def __init__(self, folder: Path):
        self.folder = folder
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], env: dict) -> None:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - closed by the process's end
        self.processes[name] = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True,
                                                preexec_fn=_stop_with_parent)

    def dead(self) -> list[str]:
        return [name for name, process in self.processes.items() if process.poll() is not None]

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def logs(self) -> dict[str, list[str]]:
        return {name: (self.folder / f"{name}.log").read_text(errors="replace").splitlines() for name in self.processes}

    def errors(self) -> list[str]:
        found = []
        for name, lines in self.logs().items():
            for line in lines:
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                level = record.get("level") if isinstance(record, dict) else None
                if level in ("ERROR", "CRITICAL") or (record is None and PLAIN_ERROR.search(line)):
                    found.append(f"{name}: {line}")
        return found


# Lines that are not JSON: gunicorn's own ("[ERROR]", "[CRITICAL] WORKER TIMEOUT"), Celery's
# banner, Python's tracebacks.
PLAIN_ERROR = re.compile(r"\[(ERROR|CRITICAL)\]|Traceback|\bERROR\b|\bCRITICAL\b")


def _stop_with_parent() -> None:
    """In the child before it runs: Linux sends it SIGTERM if the test process dies, so a killed
    test run leaves no server holding the test database."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1


def wait_until(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def emails_to(folder: Path, address: str) -> list[str]:
    return [path.read_text(errors="replace") for path in sorted(folder.glob("*.log"))
            if f"To: {address}" in path.read_text(errors="replace")]


@pytest.fixture
def production(tmp_path, s3_server):
    bucket = f"smoke-{secrets.token_hex(6)}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="smoke",
                 aws_secret_access_key="smoke").create_bucket(Bucket=bucket)
    ports = [free_port()]
    while len(ports) < 2:
        ports += [port for port in [free_port()] if port not in ports]
    mail = tmp_path / "mail"
    redis_url = redis_url_with_db(settings.REDIS_URL, 7)
    redis.Redis.from_url(redis_url).delete(LOCK_NAME)  # a beat lock left by a killed earlier run
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "AWS_", "STRIPE_"))},
        "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "DJANGO_ALLOWED_HOSTS": f"{HOST},localhost", "DJANGO_SECURE_SSL_REDIRECT": "false",
        "SITE_DOMAIN": f"{HOST}:{ports[0]}", "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url, "DJANGO_LOG_FORMAT": "json",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(mail),
        "AWS_STORAGE_BUCKET_NAME": bucket, "AWS_S3_ENDPOINT_URL": s3_server, "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_S3_ADDRESSING_STYLE": "path", "AWS_ACCESS_KEY_ID": "smoke", "AWS_SECRET_ACCESS_KEY": "smoke",
        "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "2", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    (tmp_path / "prometheus").mkdir()
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env=env,
                   cwd=settings.BASE_DIR, check=True, timeout=300)
    subprocess.run([sys.executable, "manage.py", "s3_setup", "--origin", f"https://{HOST}:{ports[0]}"], env=env,
                   cwd=settings.BASE_DIR, check=True, timeout=120, capture_output=True)
    stack = Stack(tmp_path)
    for index, port in enumerate(ports):
        stack.start(f"web{index + 1}", [sys.executable, "-m", "gunicorn", "cadcam.wsgi", "-c", "gunicorn.conf.py",
                                        "--bind", f"{HOST}:{port}", "--access-logfile", "/dev/null"], env)
    stack.start("worker", [sys.executable, "-m", "celery", "-A", "cadcam", "worker", "--pool", "solo",
                           "--loglevel", "INFO", "--without-gossip", "--without-mingle"], env)
    stack.start("beat", [sys.executable, "-m", "celery", "-A", "cadcam", "beat", "--loglevel", "INFO",
                         "--schedule", str(tmp_path / "beat-schedule")], env)
    bases = [f"http://{HOST}:{port}" for port in ports]
    try:
        for base in bases:
            wait_until(lambda base=base: _answers(f"{base}/readyz"), 90, f"{base}/readyz")
        assert stack.dead() == [], stack.logs()  # ours answered, not something else on the port
        yield bases, stack, mail
    finally:
        stack.stop()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, headers={"X-Forwarded-Proto": "https"}, timeout=10).status_code == 200
    except requests.RequestException:  # not listening yet, or still loading the project
        return False


def test_a_whole_order_through_two_web_instances_a_worker_and_a_beat(production):
    bases, stack, mail = production
    listing = make_published(title="Smoke test crown design", price_cents=2500)
    designer_email = listing.owner.email
    # Hashed as production hashes (the suite's own hasher is a fast one production does not know).
    hasher = PBKDF2PasswordHasher()
    listing.owner.password = hasher.encode(PASSWORD, hasher.salt())
    listing.owner.save(update_fields=["password"])

    # Sign up; the confirmation e-mail is sent by the worker; its link signs the client in.
    client = Browser(bases)
    run = secrets.token_hex(4)  # Redis keeps rate limits per address between runs
    email = f"smoke.lab.{run}@example.com"
    signed_up = client.post("/accounts/signup/", {
        "email": email, "username": f"smoke-lab-{run}", "password1": PASSWORD, "password2": PASSWORD,
        "accept_terms": "on",
    })
    assert signed_up.status_code == 302, signed_up.text[:500]
    message = wait_until(lambda: emails_to(mail, email), 30, "the confirmation e-mail")[0]
    confirm = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^/\s]+/)", message).group(1)
    assert client.post(confirm).status_code == 302
    assert client.get("/dashboard/").status_code == 200

    # Send Case: the file goes to the bucket, the form carries its token.
    case_file = stl(200)
    start = client.request("POST", "/uploads/", json={"name": "crown-36.stl", "size": len(case_file)},
                           headers={"X-CSRFToken": client.token()})
    assert start.status_code == 201, start.text
    answer = start.json()
    requests.post(answer["post"]["url"], data=answer["post"]["fields"], files={"file": ("b", case_file)},
                  timeout=30).raise_for_status()
    assert client.request("POST", answer["complete_url"], headers={"X-CSRFToken": client.token()}).status_code == 200
    sent = client.post(f"/listings/{listing.pk}/send-case/", {"quantity": "1", "files": answer["token"]})
    assert sent.status_code == 302 and "/pay/" in sent.headers["Location"], sent.text[:800]
    order = Order.objects.get()
    paid = client.post(f"/orders/{order.pk}/pay/", {"outcome": "approve"})
    assert paid.status_code == 302

    # The designer signs in (on either instance), accepts and delivers a file through gunicorn.
    designer = Browser(list(reversed(bases)))
    signed_in = designer.post("/accounts/login/", {"login": designer_email, "password": PASSWORD})
    assert signed_in.status_code == 302, signed_in.text[:800]
    order_page = f"/orders/{order.pk}/"
    assert designer.post(f"/orders/{order.pk}/accept/", form_page=order_page).status_code == 302
    design = stl(300)
    delivered = designer.post(f"/orders/{order.pk}/deliver/", {"note": "Crown 36 designed, 0.6 mm margin."},
                              files={"files": ("crown-36-design.stl", design, "application/octet-stream")},
                              form_page=order_page)
    assert delivered.status_code == 302

    # The client downloads the design (a signed URL on the bucket) and completes the order.
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    stored = order.files.get(delivery__isnull=False)
    download = client.get(f"/orders/{order.pk}/files/{stored.pk}/")
    assert download.status_code == 302
    assert requests.get(download.headers["Location"], timeout=30).content == design
    assert client.post(f"/orders/{order.pk}/complete/", form_page=order_page).status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.COMPLETED

    # The worker fingerprinted the case file; e-mails went out through it; both instances served.
    case = order.files.get(delivery__isnull=True)
    wait_until(lambda: order.files.filter(pk=case.pk).exclude(sha256="").exists(), 30, "the case file's SHA-256")
    wait_until(lambda: emails_to(mail, designer_email), 30, "the designer's e-mails")
    assert set(client.served_by) == set(bases) and set(designer.served_by) == set(bases)
    assert wait_until(lambda: _beat_holds_the_lock(stack), 30, "the beat to take its lock")

    assert stack.dead() == []
    assert stack.errors() == []
    logs = "\n".join(line for lines in stack.logs().values() for line in lines)
    assert "confirm-email" not in logs and PASSWORD not in logs  # no e-mail contents or form data in logs
    worker_lines = [json.loads(line) for line in stack.logs()["worker"] if line.startswith("{")]
    assert worker_lines and all("request_id" in line for line in worker_lines)
    assert any(line["request_id"] for line in worker_lines), "no task logged under its request's id"


def _beat_holds_the_lock(stack: Stack) -> bool:
    return any("holds the lock and sends the periodic jobs" in line for line in stack.logs()["beat"])

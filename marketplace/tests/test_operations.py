"""What the people who run the site rely on: one beat at a time, backups that restore into a
database where the money reconciles, business figures at /metrics, and error reports that
carry no personal data."""

import os
import re
import shutil
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask, PeriodicTasks

from cadcam.beat import LOCK_NAME, LOCK_SECONDS, WAIT_SECONDS, SingleBeatScheduler
from cadcam.celery import app as celery_app
from cadcam.tests.databases import database_url
from orders.services import order_accept
from orders.tests.helpers import make_order, stl_upload

SWEEP = "sweep-direct-uploads"


# --- one beat -------------------------------------------------------------------------------------


@pytest.fixture
def no_beat_lock():
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(LOCK_NAME)
    yield
    client.delete(LOCK_NAME)


@pytest.mark.django_db(transaction=True)
def test_two_beats_do_not_both_send_the_jobs(no_beat_lock, monkeypatch):
    """Only the beat holding the lock sends due jobs (the sweep among them); a second beat waits,
    and when the first stops it takes over without sending again what the first one sent."""
    sent: list[tuple[str, str]] = []

    def record(beat, entry, producer=None, advance=True, **kwargs):  # what would go to the broker
        sent.append((beat.beat_id, entry.name))
        return None

    monkeypatch.setattr(SingleBeatScheduler, "apply_async", record)
    SingleBeatScheduler(app=celery_app).close()  # installs the jobs in the database scheduler
    PeriodicTask.objects.filter(name=SWEEP).update(last_run_at=timezone.now() - timedelta(hours=1))
    PeriodicTasks.update_changed()
    first, second = SingleBeatScheduler(app=celery_app), SingleBeatScheduler(app=celery_app)

    for _ in range(3):
        first.tick()
        assert second.tick() == WAIT_SECONDS
    assert [beat for beat, name in sent if name == SWEEP] == [first.beat_id]
    assert first.holding and not second.holding
    assert 0 < redis.Redis.from_url(settings.REDIS_URL).pttl(LOCK_NAME) <= LOCK_SECONDS * 1000

    first.close()  # a deploy stops the first beat: the second takes over at its next tick
    second.tick()
    second.tick()
    assert second.holding
    assert [beat for beat, name in sent if name == SWEEP] == [first.beat_id]  # not sent a second time
    second.close()


# --- backups --------------------------------------------------------------------------------------


def _server_major() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def postgres_tool(name: str) -> str:
    """The newest `name` (pg_dump, pg_restore) on the machine that can talk to this server: the
    Debian packages' or the embedded server's own."""
    candidates = [shutil.which(name), *(str(p) for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))]
    try:
        import pgserver

        candidates.append(str(Path(pgserver.__file__).parent / "pginstall" / "bin" / name))
    except ImportError:
        pass
    versions = {}
    for candidate in filter(None, candidates):
        if Path(candidate).is_file():
            found = re.search(r"(\d+)\.", subprocess.run([candidate, "--version"], capture_output=True,
                                                          text=True).stdout)
            if found and int(found[1]) >= _server_major():
                versions[int(found[1])] = candidate
    if not versions:
        pytest.fail(f"No {name} for PostgreSQL {_server_major()} or newer: install Debian's postgresql-client.")
    return versions[max(versions)]


def libpq(url: str) -> str:
    """psycopg and the PostgreSQL tools take the URL once its scheme is postgresql://."""
    return "postgresql://" + url.split("://", 1)[1]


@pytest.mark.django_db(transaction=True)
def test_a_dump_restores_into_a_fresh_database_where_the_money_reconciles(tmp_path):
    order = make_order(files=[stl_upload()])
    order_accept(order=order, by=order.freelancer)  # captured: the ledger has money to check
    dump = tmp_path / "cadcam.dump"
    source = database_url()
    # docs/operations.md, "Backups": the same command.
    subprocess.run([postgres_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(dump), libpq(source)],
                   check=True, timeout=300)

    restored_name = f"restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq(database_url("postgres")), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{restored_name}"')
    try:
        subprocess.run([postgres_tool("pg_restore"), "--no-owner", "--exit-on-error", "--dbname",
                        libpq(database_url(restored_name)), str(dump)], check=True, timeout=300)
        checked = subprocess.run(
            [sys.executable, "manage.py", "reconcile"], cwd=settings.BASE_DIR, capture_output=True, text=True,
            env={**os.environ, "DATABASE_URL": database_url(restored_name), "DJANGO_DEBUG": "true"}, timeout=300,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "Orders checked: 1" in checked.stdout and "Every order reconciles." in checked.stdout
    finally:
        with psycopg.connect(libpq(database_url("postgres")), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)')


# --- business metrics and error reports ---------------------------------------------------------


@pytest.mark.django_db
def test_metrics_count_state_changes_gateway_calls_and_what_is_owed(client):
    order = make_order(files=[stl_upload()])
    order_accept(order=order, by=order.freelancer)

    text = client.get("/metrics").content.decode()

    assert re.search(r'cadcam_order_transitions_total\{from_state="requested",to_state="accepted"\} 1\.0', text)
    assert re.search(r'cadcam_gateway_calls_total\{kind="capture",state="succeeded"\} 1\.0', text)
    assert re.search(r'cadcam_orders\{state="accepted"\} 1\.0', text)
    for name in ("cadcam_webhook_backlog", "cadcam_webhook_lag_seconds", "cadcam_payouts_due"):
        assert re.search(rf"^{name} 0\.0$", text, re.MULTILINE), name


def test_error_reports_go_to_sentry_without_personal_data():
    probe = ("import django; django.setup(); import sentry_sdk; client = sentry_sdk.get_client(); "
             "options = client.options; print(client.is_active(), options['send_default_pii'], "
             "options['max_request_body_size'], sorted(client.integrations))")
    env = {**os.environ, "SENTRY_DSN": "https://public@sentry.example.com/1",
           "DJANGO_SETTINGS_MODULE": "cadcam.settings"}
    answer = subprocess.run([sys.executable, "-c", probe], cwd=settings.BASE_DIR, env=env, capture_output=True,
                            text=True, timeout=120)

    assert answer.returncode == 0, answer.stderr
    active, pii, body, integrations = answer.stdout.strip().split(" ", 3)
    assert (active, pii, body) == ("True", "False", "never")
    assert "'django'" in integrations and "'celery'" in integrations

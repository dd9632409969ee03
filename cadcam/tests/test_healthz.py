"""/healthz (liveness), /readyz (readiness) and /metrics (Prometheus)."""

import time
from unittest import mock

import pytest
from django.core.cache import cache
from django.db.backends.utils import CursorWrapper
from django.test import override_settings

from cadcam import metrics as cadcam_metrics
from cadcam.metrics import BEAT_HEARTBEAT, JOB_CACHE_KEY, record_job

pytestmark = pytest.mark.django_db


def test_healthz_only_says_the_process_answers(client):
    with mock.patch.object(CursorWrapper, "execute", side_effect=RuntimeError("database down")):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database_redis_storage_and_migrations(client):
    with record_job(BEAT_HEARTBEAT):
        pass
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("status", "database", "redis", "storage", "migrations", "beat")} == {
        "status": "ok", "database": "ok", "redis": "ok", "storage": "ok", "migrations": "ok", "beat": "ok"}
    assert 0 <= body["beat_heartbeat_age_seconds"] < 5
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_is_503_when_redis_is_unreachable(client):
    with override_settings(REDIS_URL="redis://127.0.0.1:9/0"):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["redis"] == "error" and response.json()["database"] == "ok"


def test_readyz_is_503_when_the_database_fails(client):
    with mock.patch.object(CursorWrapper, "execute", side_effect=RuntimeError("database down")):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["database"] == "error"


def test_a_stale_beat_is_reported_without_taking_the_process_out_of_service(client, settings):
    cache.set(JOB_CACHE_KEY.format(BEAT_HEARTBEAT), {"seconds": 0.01, "at": time.time() - 3600}, None)
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["beat"] == "stale" and response.json()["beat_heartbeat_age_seconds"] >= 3600


def test_metrics_are_for_allowed_networks_or_the_token(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    settings.METRICS_TOKEN = "s3cret-token"

    assert client.get("/metrics").status_code == 404  # the test client is 127.0.0.1
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")


def test_metrics_show_http_and_job_figures(client):
    with record_job("order_deadlines"):
        pass
    client.get("/healthz")
    text = client.get("/metrics").content.decode()

    assert "django_http_requests_total_by_method_total" in text
    assert 'cadcam_job_duration_seconds{job="order_deadlines"}' in text
    assert 'cadcam_job_last_run_timestamp_seconds{job="order_deadlines"}' in text
    assert cadcam_metrics.SOURCES  # the apps registered theirs (tested in marketplace/tests/test_operations.py)


def test_every_response_has_a_request_id_and_keeps_a_sensible_given_one(client):
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="edge-1234abcd")["X-Request-ID"] == "edge-1234abcd"
    assert client.get("/healthz", HTTP_X_REQUEST_ID="<script>")["X-Request-ID"] != "<script>"


def test_probes_and_prometheus_are_answered_at_the_pods_own_address(client, settings):
    """Kubernetes asks at the pod's IP, which is no name of the site."""
    settings.ALLOWED_HOSTS = ["cadcam.example"]
    settings.METRICS_TOKEN = "s3cret-token"

    assert client.get("/healthz", HTTP_HOST="10.42.0.17:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.42.0.17:8000").status_code == 200
    metrics = client.get("/metrics", HTTP_HOST="10.42.0.17:8000", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert metrics.status_code == 200
    assert client.get("/listings/", HTTP_HOST="10.42.0.17:8000").status_code == 400  # the site itself is not


def test_a_failing_readiness_check_is_a_warning_not_an_error_report(client, caplog):
    with override_settings(REDIS_URL="redis://127.0.0.1:9/0"), caplog.at_level("WARNING"):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert [record.levelname for record in caplog.records if record.name == "cadcam.views"] == ["WARNING"]
    assert not [record for record in caplog.records if record.name == "django.request"]

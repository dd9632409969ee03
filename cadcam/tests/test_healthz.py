from unittest import mock

import pytest
from django.db.backends.utils import CursorWrapper
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_healthz_reports_ok_when_database_and_redis_answer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_is_503_when_redis_is_unreachable(client):
    with override_settings(REDIS_URL="redis://127.0.0.1:9/0"):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "redis": "error"}


def test_healthz_is_503_when_the_database_fails(client):
    with mock.patch.object(CursorWrapper, "execute", side_effect=RuntimeError("database down")):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "error"

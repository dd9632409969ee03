import socket
import subprocess
import sys
import time

import pytest
import responses
import stripe
from django.core.cache import cache

from cadcam.celery import app as celery_app
from payments.tests.helpers import API, CONNECT_SECRET, PLATFORM_SECRET, stripe_list


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks run inline unless a test starts a real worker (see the celery_worker fixture)."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The cache is the test Redis; allauth's rate-limit counters must not leak between tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests create many users; the production hasher takes a quarter second each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploads written by a test land in its own temporary folders."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker thread consuming from the real (test) Redis broker."""
    from celery.contrib.testing.worker import start_worker

    celery_app.conf.task_always_eager = False
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


def pytest_collection_modifyitems(items):
    """A transactional test ends by flushing every table, which also removes the rows that
    migrations seed (categories, CAD software, the site name). Give all of them Django's
    serialized rollback so those rows are back for the next test."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker and marker.kwargs.get("transaction") and not marker.kwargs.get("serialized_rollback"):
            item.add_marker(
                pytest.mark.django_db(*marker.args, **{**marker.kwargs, "serialized_rollback": True}), append=False
            )


# --- Stripe offline: localstripe for the stripe backend's tests ---------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe_url():
    """A localstripe server (a local fake of Stripe's API) on a free loopback port."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("localstripe did not start")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.fixture
def stripe_settings(settings, localstripe_url):
    settings.STRIPE_SECRET_KEY = "sk_test_cadcam"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_cadcam"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_cadcam_test"
    settings.STRIPE_API_BASE = localstripe_url
    return settings


@pytest.fixture
def stripe_client(stripe_settings):
    return stripe.StripeClient(
        stripe_settings.STRIPE_SECRET_KEY, base_addresses={"api": stripe_settings.STRIPE_API_BASE}
    )


@pytest.fixture
def stripe_api(settings):
    """The stripe backend against Stripe's API stubbed with `responses` (for Connect, transfers and
    disputes, which localstripe lacks). Tests add the answers they need."""
    settings.STRIPE_SECRET_KEY = "sk_test_cadcam"
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_WEBHOOK_SECRET = PLATFORM_SECRET
    settings.STRIPE_CONNECT_WEBHOOK_SECRET = CONNECT_SECRET
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        # No transfer made yet for any order (payout_transfer looks before it makes one), and
        # no refund made at Stripe (it checks those too).
        rsps.get(f"{API}/transfers", json=stripe_list("/v1/transfers"))
        rsps.get(f"{API}/refunds", json=stripe_list("/v1/refunds"))
        # What a bank payout carried: the payment our transfer tr_1 made on the connected account.
        rsps.get(f"{API}/balance_transactions", json=stripe_list("/v1/balance_transactions", [
            {"id": "txn_1", "object": "balance_transaction", "type": "payment",
             "source": {"id": "py_1", "object": "charge", "source_transfer": "tr_1"}},
        ]))
        yield rsps

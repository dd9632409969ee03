import dataclasses
import io
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import boto3
import pytest
import responses
import stripe
from django.core.cache import cache
from django.core.management import call_command
from moto.server import ThreadedMotoServer

from cadcam.celery import app as celery_app
from cadcam.s3_settings import s3_storages
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
    """A localstripe server (a local fake of Stripe's API) on a free loopback port. A start that
    fails (the port taken in the meantime, a slow machine) is tried again on another port; the
    last failure's output is shown."""
    output = ""
    for _attempt in range(3):
        port = _free_port()
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen([sys.executable, "-m", "localstripe", "--port", str(port)],
                                       stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 60
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                process.kill()
                process.wait(10)
                log.seek(0)
                output = log.read().decode(errors="replace")[-2000:]
                continue
            yield f"http://127.0.0.1:{port}"
            process.terminate()
            process.wait(10)
            return
    pytest.fail(f"localstripe did not start:\n{output}")


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


# --- S3 offline: moto's S3 API for the S3 storage and direct-upload tests ---------------------------


@pytest.fixture(scope="session")
def s3_server():
    """moto's standalone S3 API on a free loopback port, for the whole session."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(settings, s3_server, live_server_origin):
    """Public media and private files on S3: the settings' own configuration pointed at the moto
    server, with a bucket of its own set up by `s3_setup` (CORS for this test's origin)."""
    bucket = f"cadcam-{uuid.uuid4().hex[:16]}"
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {**settings.STORAGES, **s3_storages(
        bucket=bucket, endpoint_url=s3_server, region_name="us-east-1", access_key="testing",
        secret_key="testing", url_protocol="http:", addressing_style="path",
    )}
    call_command("s3_setup", origins=[live_server_origin], stdout=io.StringIO())
    yield S3(client=client, bucket=bucket, endpoint=s3_server)
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            client.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
    for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    client.delete_bucket(Bucket=bucket)


@pytest.fixture
def live_server_origin():
    """The origin the browser tests' pages come from (overridden by e2e/conftest.py)."""
    return "http://testserver"


@dataclasses.dataclass
class S3:
    client: object
    bucket: str
    endpoint: str

    def keys(self, prefix: str = "") -> list[str]:
        answer = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in answer.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

import socket
import subprocess
import sys
import time

import pytest
import stripe


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


def customer_confirms(client, payment_id: str, card: str = "4242424242424242"):
    """What Stripe.js does in the browser: attach the card and confirm the PaymentIntent."""
    method = client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": card, "exp_month": 12, "exp_year": 2031, "cvc": "123"}}
    )
    client.v1.payment_intents.update(payment_id, params={"payment_method": method.id})
    return client.v1.payment_intents.confirm(payment_id)

"""Browser journeys: Playwright for Python driving the system Chromium.

Playwright's own browser downloads cannot work here, so the tests use Debian's
chromium (/usr/bin/chromium) or the executable named by CHROMIUM_PATH. Without
one they fail, saying how to install it: they are never skipped.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.db import connections

# Playwright's sync API keeps an event loop in this thread; Django refuses ORM calls
# from such a thread unless told that the tests know what they do.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")



SYSTEM_CHROMIUM = "/usr/bin/chromium"


def chromium_path() -> str:
    candidates = [os.environ.get("CHROMIUM_PATH"), SYSTEM_CHROMIUM, shutil.which("chromium")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "Browser tests need Chromium: install Debian's package with `sudo apt-get install -y chromium`, "
        "or set CHROMIUM_PATH to a Chromium executable. (`playwright install` cannot download here.)",
        pytrace=False,
    )


@pytest.fixture
def browser(_django_db_helper):
    """A Chromium per test, started after the test database is prepared.

    Between calls, Playwright's sync API leaves its asyncio loop marked as running in
    this thread, and Django then hands out other connection objects. Starting it after
    pytest-django's set-up (and stopping it before the flush) keeps the set-up, the
    serialized rollback (see conftest.py) and the teardown on one connection.
    """
    from playwright.sync_api import sync_playwright

    from marketplace.benchmarking import CHROMIUM_ARGS  # the same arguments as benchmark_picking

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        # Connections the test body opened while Playwright's loop was marked running
        # belong to that context: close them here, or they outlive the test database.
        connections.close_all()
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def live_server_origin(live_server):
    """The S3 fixture's CORS rules let this origin post files to the bucket."""
    return live_server.url

"""With DATABASE_REPLICA_URL set, browse and search read from the replica (here: a second
connection to the same database, as a replica would hold the same rows)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from cadcam.db import read_replica
from cadcam.tests.databases import database_url
from listings.tests.helpers import make_published

PROBE = """
import django
django.setup()
from django.contrib.auth.models import AnonymousUser
from django.db import connections
from django.test.utils import CaptureQueriesContext
from listings.selectors import BrowseFilters, listings_browse_page
with CaptureQueriesContext(connections["replica"]) as replica, CaptureQueriesContext(connections["default"]) as primary:
    page = listings_browse_page(viewer=AnonymousUser(), filters=BrowseFilters(q="zirconia"), number=1, per_page=24)
print([listing.title for listing in page.object_list], len(replica.captured_queries), len(primary.captured_queries))
"""


def test_without_a_replica_everything_reads_the_primary():
    assert read_replica() == "default"


@pytest.mark.django_db(transaction=True)
def test_browse_and_search_read_from_the_replica():
    make_published(title="Zirconia crown design")
    database = database_url()
    env = {**os.environ, "DATABASE_URL": database, "DATABASE_REPLICA_URL": database,
           "DJANGO_SETTINGS_MODULE": "cadcam.settings"}

    answer = subprocess.run([sys.executable, "-c", PROBE], cwd=settings.BASE_DIR, env=env, capture_output=True,
                            text=True, timeout=120)

    assert answer.returncode == 0, answer.stderr
    titles, on_replica, on_primary = answer.stdout.strip().rsplit(" ", 2)
    assert titles == "['Zirconia crown design']"
    assert int(on_replica) >= 2 and int(on_primary) == 0


CACHE_FILL_PROBE = """
import django
django.setup()
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
with override_settings(ALLOWED_HOSTS=["testserver"]), CaptureQueriesContext(connections["replica"]) as replica:
    response = Client().get("/listings/", {"q": "zirconia"})
rows_read = [query for query in replica.captured_queries if "listings_listing" in query["sql"]]
print(response.status_code, "Zirconia crown design" in response.content.decode(), len(rows_read))
"""


@pytest.mark.django_db(transaction=True)
def test_what_the_browse_cache_keeps_is_read_from_the_primary():
    """A lagging replica would otherwise file old rows under the new cache version."""
    make_published(title="Zirconia crown design")
    database = database_url()
    env = {**os.environ, "DATABASE_URL": database, "DATABASE_REPLICA_URL": database,
           "DJANGO_SETTINGS_MODULE": "cadcam.settings", "BROWSE_CACHE_SECONDS": "300"}

    answer = subprocess.run([sys.executable, "-c", CACHE_FILL_PROBE], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120)

    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.split() == ["200", "True", "0"]

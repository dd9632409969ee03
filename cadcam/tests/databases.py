"""Addresses of databases on the suite's PostgreSQL server (embedded or real), for tests that
start other processes or tools against it."""

import os
from urllib.parse import urlsplit

from django.db import connection


def database_url(name: str | None = None) -> str:
    """DATABASE_URL with another database name: by default the test database this run uses."""
    return urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name or connection.settings_dict['NAME']}").geturl()

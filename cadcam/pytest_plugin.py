"""Pytest plugin (loaded with `-p cadcam.pytest_plugin` from pytest.ini).

It runs before pytest-django configures Django: it puts the test process in
development mode and, unless DATABASE_URL / REDIS_URL point at real servers,
starts an embedded PostgreSQL and Redis of its own (not those
`make run` uses) for the whole session.
"""

import os

import pytest


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    from cadcam.embedded import ensure_services

    os.environ.setdefault("DJANGO_DEBUG", "true")
    # Servers of their own: the suite never holds (and at its end stops) the ones `make run` uses.
    ensure_services(redis_file="redis-test.db", postgres_dir="postgres-test")
    return (yield)

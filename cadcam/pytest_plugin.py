"""Pytest plugin (loaded with `-p cadcam.pytest_plugin` from pytest.ini).

It runs before pytest-django configures Django: it puts the test process in
development mode and, unless DATABASE_URL / REDIS_URL point at real servers,
starts the embedded PostgreSQL and a Redis of its own (a separate file from the
one `make run` uses) for the whole session.
"""

import os

import pytest


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    from cadcam.embedded import ensure_services

    os.environ.setdefault("DJANGO_DEBUG", "true")
    ensure_services(redis_file="redis-test.db")
    return (yield)

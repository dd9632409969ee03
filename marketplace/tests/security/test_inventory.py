"""One classification for every URL pattern: a new URL that is not in
inventory.CLASSIFICATION fails here, so whoever adds it decides (and the access matrix then
asks for its case if it is private)."""

import pytest

from marketplace.tests.security.inventory import (
    ADMIN,
    ALLAUTH,
    CLASSIFICATION,
    CONDITIONAL,
    OWN_DATA,
    PRIVATE,
    PUBLIC,
    STAFF_ONLY,
    WEBHOOK,
    all_routes,
    classify,
)
from marketplace.tests.security.report import record
from marketplace.tests.security.world import UNWATCHED_TABLES, DbWatcher
from orders.tests.helpers import make_order

KINDS = {PUBLIC, OWN_DATA, STAFF_ONLY, WEBHOOK, ADMIN, ALLAUTH}


def test_every_url_pattern_is_classified():
    routes = all_routes()
    unclassified = [f"{route.key} ({route.route})" for route in routes if classify(route) is None]
    record("URL patterns classified", len(routes))

    assert not unclassified, "classify these URLs in marketplace/tests/security/inventory.py:\n" + "\n".join(
        unclassified)


def test_the_classification_names_only_urls_that_exist():
    keys = {route.key for route in all_routes()} | CONDITIONAL

    assert not CLASSIFICATION.keys() - keys, f"no such URL any more: {sorted(CLASSIFICATION.keys() - keys)}"


def test_every_classification_is_a_known_kind():
    unknown = {key: kind for key, kind in CLASSIFICATION.items() if kind not in KINDS and not (
        kind.startswith(PRIVATE) and kind.removeprefix(PRIVATE))}

    assert not unknown


def test_admin_urls_are_classified_by_their_prefix():
    admin = [route for route in all_routes() if route.route.startswith("admin/")]

    assert admin and all(classify(route) == ADMIN for route in admin)


def test_the_inventory_fills_every_parameter_of_a_route():
    routes = {route.key: route for route in all_routes()}
    detail = routes["orders:download"]

    assert detail.params == [("pk", "int"), ("file_id", "int")]
    assert detail.path({"pk": "7", "file_id": "9"}) == "/orders/7/files/9/"
    confirm = routes["account_confirm_email"]
    assert confirm.path({"key": "abc"}) == "/accounts/confirm-email/abc/"
    app_list = routes["admin:app_list"]
    assert app_list.path({"app_label": "orders"}) == "/admin/orders/"


@pytest.mark.django_db
def test_the_database_watcher_sees_changed_rows_and_only_those():
    order = make_order()
    watcher = DbWatcher()

    watcher.sync()
    assert watcher.changed() == []
    order.instructions = "changed"
    order.save(update_fields=["instructions"])
    assert watcher.changed() == ["orders_order"]
    order.save(update_fields=["instructions"])  # written again, the same data
    assert watcher.changed() == []
    assert "django_session" in UNWATCHED_TABLES

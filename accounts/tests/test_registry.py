"""accounts' registries: what the apps above ask of it, filled at start-up."""

import json

import pytest
from django.urls import reverse

from accounts import registry
from accounts.services import user_delete, verification_approve
from accounts.tests.helpers import PASSWORD, make_pending_request, make_user
from cadcam.errors import ApplicationError

pytestmark = pytest.mark.django_db


def test_the_apps_register_their_guards_sections_and_hooks_at_start_up():
    assert set(registry.DELETION_GUARDS) >= {"orders"}
    assert set(registry.EXPORT_SECTIONS) >= {"listings", "favorites", "orders", "payouts", "reviews_written",
                                             "messages_sent", "disputes_opened"}
    assert set(registry.VERIFIED_HOOKS) >= {"listings"}


def test_a_deletion_guard_refuses_with_its_message_and_nothing_changes(monkeypatch):
    user = make_user()
    monkeypatch.setitem(registry.DELETION_GUARDS, "test", lambda who: "You owe us a design." if who == user else "")

    with pytest.raises(ApplicationError, match="You owe us a design"):
        user_delete(user=user, password=PASSWORD)

    user.refresh_from_db()
    assert user.deleted_at is None


def test_an_export_section_lands_under_its_name(client, monkeypatch):
    user = make_user()
    monkeypatch.setitem(registry.EXPORT_SECTIONS, "test_section", lambda who: {"username": who.username})
    client.force_login(user)

    data = json.loads(client.get(reverse("accounts:export")).content)

    assert data["test_section"] == {"username": user.username}


def test_verified_hooks_run_when_staff_verify(monkeypatch):
    verified = []
    monkeypatch.setitem(registry.VERIFIED_HOOKS, "test", verified.append)
    request = make_pending_request(make_user())

    verification_approve(request=request, by=make_user(is_staff=True))

    assert verified == [request.user]


def test_registering_again_replaces_not_doubles(monkeypatch):
    monkeypatch.setattr(registry, "DELETION_GUARDS", {})
    registry.register_deletion_guard("x", lambda user: "one")
    registry.register_deletion_guard("x", lambda user: "two")
    assert registry.deletion_refusals(None) == ["two"]

"""payments' registries: the Stripe event handlers and the reconcile checks that apps above
register at start-up (payments imports none of them)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from payments import reconcile as reconciliation
from payments import webhooks
from payments.models import StripeEvent
from payments.webhooks import CONNECT, PLATFORM, stripe_event_process, webhook_handler

pytestmark = pytest.mark.django_db


def test_each_event_type_is_handled_by_the_app_that_owns_it():
    owners = {endpoint: {event_type: handler.__module__ for event_type, handler in handlers.items()}
              for endpoint, handlers in webhooks.HANDLERS.items()}
    assert owners[PLATFORM]["payment_intent.amount_capturable_updated"] == "orders.webhooks"
    assert owners[PLATFORM]["transfer.reversed"] == "payouts.webhooks"
    assert owners[PLATFORM]["charge.dispute.created"] == "disputes.webhooks"
    assert owners[PLATFORM]["charge.dispute.funds_withdrawn"] == "disputes.webhooks"
    assert owners[CONNECT] == {"account.updated": "payouts.webhooks", "payout.paid": "payouts.webhooks",
                               "payout.failed": "payouts.webhooks"}


def test_a_registered_handler_processes_its_events_once(monkeypatch):
    monkeypatch.setattr(webhooks, "HANDLERS", {PLATFORM: {}, CONNECT: {}})
    seen = []

    @webhook_handler("test.happened")
    def handle(event):
        seen.append(event["id"])
        return "handled"

    stored = StripeEvent.objects.create(event_id="evt_1", type="test.happened", payload={"id": "evt_1"})
    assert stripe_event_process(event_pk=stored.pk) == "handled"
    assert stripe_event_process(event_pk=stored.pk) == "handled"  # processed already: not again
    assert seen == ["evt_1"]


def test_an_event_type_has_one_owner(monkeypatch):
    monkeypatch.setattr(webhooks, "HANDLERS", {PLATFORM: {}, CONNECT: {}})
    webhook_handler("test.happened")(lambda event: "first")
    with pytest.raises(ImproperlyConfigured, match="already handled"):
        @webhook_handler("test.happened")
        def second(event):
            return "second"


def test_an_unknown_endpoint_is_a_start_up_error():
    with pytest.raises(ImproperlyConfigured):
        webhook_handler("x", endpoint="elsewhere")


def test_reconcile_runs_every_registered_check(monkeypatch):
    assert {"orders", "payouts"} <= set(reconciliation.RECONCILE_CHECKS)

    def check(*, balances, report, now):
        report.problems.append("test check ran")

    monkeypatch.setitem(reconciliation.RECONCILE_CHECKS, "test", check)
    report = reconciliation.reconcile()
    assert "test check ran" in report.problems and not report.ok

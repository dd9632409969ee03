"""The payout lifecycle on the simulated gateway, the ledger and `reconcile`."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError, InvalidTransition
from orders.services import order_accept
from orders.tests.helpers import make_order
from payments.models import LedgerEntry, SimulatedTransfer
from payments.reconcile import reconcile
from payments.simulated import SIMULATED_BANK_PAYOUT_DELAY
from payouts.models import Payout, PayoutAccount, PayoutCountry
from payouts.services import payout_account_start, payout_retry, payout_transfer, payouts_run
from payouts.tests.helpers import connect_payouts, make_completed_order

pytestmark = pytest.mark.django_db
P = Payout.Status
K = LedgerEntry.Kind


def kinds(order):
    return [(entry.kind, entry.amount_cents) for entry in order.ledger.all()]


def on_commit():
    """Run what the services queue for after commit (e-mails, follow-up tasks) as it happens."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def assert_reconciles():
    report = reconcile()
    assert report.problems == []


def test_a_completed_order_clears_then_is_transferred_and_paid_out():
    # given a freelancer with payouts enabled and a completed order
    order = make_completed_order()
    connect_payouts(order.freelancer)
    payout = order.payout
    assert (payout.status, payout.amount_cents, payout.due_at) == (P.CLEARING, order.net_cents, order.payout_due_at)
    assert kinds(order) == [(K.AUTHORIZED, order.total_cents), (K.CAPTURED, order.total_cents),
                            (K.FEE, order.fee_cents)]
    assert_reconciles()

    # when the scheduled run comes before clearing ends, nothing moves
    assert payouts_run()["transferred"] == 0
    payout.refresh_from_db()
    assert payout.status == P.CLEARING

    # when time passes the clearing period, the run transfers the net once
    with time_machine.travel(order.payout_due_at + timedelta(minutes=1)), on_commit():
        assert payouts_run()["transferred"] == 1
        assert payouts_run()["transferred"] == 0
    payout.refresh_from_db()
    assert payout.status == P.TRANSFERRED
    transfer = SimulatedTransfer.objects.get()
    assert (transfer.amount_cents, transfer.transfer_group, transfer.idempotency_key) == (
        order.net_cents, f"order-{order.pk}", f"transfer:order-{order.pk}:1")
    assert transfer.source_transaction == order.ledger.get(kind=K.CAPTURED).gateway_id
    assert order.ledger.get(kind=K.TRANSFERRED).gateway_id == payout.transfer_id == transfer.gateway_id
    assert any("on its way to your bank" in message.subject for message in mail.outbox)
    assert_reconciles()

    # then the bank payout arrives after its delay
    with time_machine.travel(order.payout_due_at + SIMULATED_BANK_PAYOUT_DELAY + timedelta(minutes=2)):
        payouts_run()
    payout.refresh_from_db()
    assert payout.status == P.PAID
    assert payout.bank_payout_id == transfer.bank_payout_id
    assert order.ledger.get(kind=K.PAID_OUT).amount_cents == order.net_cents
    assert_reconciles()


def test_a_due_payout_waits_for_payout_details_and_is_sent_once_they_are_enabled():
    order = make_completed_order()
    with time_machine.travel(order.payout_due_at + timedelta(minutes=1)):
        with on_commit():
            assert payouts_run()["waiting"] == 1
        payout = Payout.objects.get(order=order)
        assert payout.status == P.WAITING_FOR_ACCOUNT
        assert any("Set up payouts" in message.subject for message in mail.outbox)
        assert_reconciles()  # held with a recorded reason
        assert reconcile().ok

        # when the freelancer enables payouts, the waiting payout goes at once (no run needed)
        with on_commit():
            connect_payouts(order.freelancer)
    payout.refresh_from_db()
    assert payout.status == P.TRANSFERRED
    assert SimulatedTransfer.objects.count() == 1
    assert_reconciles()


def test_payouts_wait_while_the_account_is_only_started():
    order = make_completed_order()
    payout_account_start(user=order.freelancer, country="FR")
    assert PayoutAccount.objects.get().state == PayoutAccount.State.DETAILS_NEEDED
    with time_machine.travel(order.payout_due_at + timedelta(minutes=1)):
        payouts_run()
    assert Payout.objects.get().status == P.WAITING_FOR_ACCOUNT


def test_a_payout_cannot_be_transferred_before_it_clears_or_twice():
    order = make_completed_order()
    connect_payouts(order.freelancer)
    with pytest.raises(InvalidTransition, match="clears on"):
        payout_transfer(payout=order.payout)
    with time_machine.travel(order.payout_due_at + timedelta(minutes=1)):
        payout_transfer(payout=order.payout)
        with pytest.raises(InvalidTransition, match="cannot be sent now"):
            payout_transfer(payout=order.payout)
    assert SimulatedTransfer.objects.count() == 1


def test_a_failed_transfer_keeps_the_payout_due_and_a_retry_transfers_exactly_once(monkeypatch):
    from payments.gateway import GatewayError
    from payments.simulated import SimulatedGateway

    order = make_completed_order()
    connect_payouts(order.freelancer)
    real = SimulatedGateway.create_transfer

    def down(self, **kwargs):
        raise GatewayError("The payment service is not available right now.", detail="APIConnectionError: timeout")

    monkeypatch.setattr(SimulatedGateway, "create_transfer", down)
    with time_machine.travel(order.payout_due_at + timedelta(minutes=1)):
        payouts_run()
        payout = Payout.objects.get()
        assert (payout.status, payout.attempts, payout.last_error) == (P.DUE, 1, "APIConnectionError: timeout")
        assert not order.ledger.filter(kind=K.TRANSFERRED).exists()
        assert reconcile().ok  # held, and the reason is recorded

        # staff retry from admin while it is still down: refused with the reason
        staff = make_user(is_staff=True)
        with pytest.raises(ApplicationError, match="failed again"):
            payout_retry(payout=payout, by=staff)

        monkeypatch.setattr(SimulatedGateway, "create_transfer", real)
        payout_retry(payout=payout, by=staff)
        payouts_run()
    payout.refresh_from_db()
    assert (payout.status, payout.attempts, payout.last_error) == (P.TRANSFERRED, 3, "")
    assert SimulatedTransfer.objects.count() == 1
    assert order.ledger.filter(kind=K.TRANSFERRED).count() == 1
    assert_reconciles()


def test_only_staff_can_retry_a_transfer():
    order = make_completed_order()
    with pytest.raises(ApplicationError, match="Only staff"):
        payout_retry(payout=order.payout, by=order.freelancer)


def test_reconcile_passes_for_every_kind_of_order_and_prints_a_summary():
    make_order(authorized=False)  # waiting for payment
    make_order()  # requested
    accepted = make_order()
    order_accept(order=accepted, by=accepted.freelancer)
    make_completed_order()
    out = StringIO()
    call_command("reconcile", stdout=out)
    assert "Orders checked: 4" in out.getvalue()
    assert "Every order reconciles." in out.getvalue()


@pytest.mark.parametrize("corruption", ["missing fee", "transfer too large", "wrong capture", "not transferred"])
def test_reconcile_fails_on_a_corrupted_ledger(corruption):
    order = make_completed_order()
    connect_payouts(order.freelancer)
    with time_machine.travel(order.payout_due_at + timedelta(minutes=1)):
        payouts_run()
    if corruption == "missing fee":
        order.ledger.filter(kind=K.FEE).delete()
    elif corruption == "transfer too large":
        LedgerEntry.objects.filter(order=order, kind=K.TRANSFERRED).update(amount_cents=order.net_cents * 2)
    elif corruption == "wrong capture":
        LedgerEntry.objects.filter(order=order, kind=K.CAPTURED).update(amount_cents=order.total_cents - 1)
    else:
        order.ledger.filter(kind=K.TRANSFERRED).delete()
        Payout.objects.filter(order=order).update(status=P.DUE, transfer_id="")
    err = StringIO()
    with pytest.raises(CommandError, match="mismatch"), time_machine.travel(timezone.now() + timedelta(days=8)):
        call_command("reconcile", stdout=StringIO(), stderr=err)
    assert f"Order #{order.pk}" in err.getvalue()


def test_the_database_refuses_a_second_transfer_row_for_an_order():
    from django.db import IntegrityError, transaction

    order = make_completed_order()
    LedgerEntry.objects.create(order=order, kind=K.TRANSFERRED, amount_cents=1, currency="USD", gateway_id="tr_1")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(order=order, kind=K.TRANSFERRED, amount_cents=1, currency="USD",
                                   gateway_id="tr_2")


# --- preferences pages --------------------------------------------------------------------------------


def test_a_freelancer_sets_up_payouts_through_the_test_mode_onboarding(client):
    user = make_user()
    client.force_login(user)
    page = client.get(reverse("payouts:index"))
    assert "Not started" in page.text
    assert reverse("payouts:other_countries") in page.text

    answer = client.post(reverse("payouts:connect"), {"country": "DE"})
    account = PayoutAccount.objects.get(user=user)
    assert answer.url == reverse("payouts:simulated_onboarding", args=[account.gateway_account_id])
    assert client.get(reverse("payouts:index")).context["payout_state"] == "details_needed"

    form = client.post(answer.url, {"account_holder": "Elena Marsh", "iban": "not an iban"})
    assert "This is not a valid IBAN" in form.text
    done = client.post(answer.url, {"account_holder": "Elena Marsh", "iban": "DE89 3704 0044 0532 0130 00"},
                       follow=True)
    assert "Payouts are enabled" in done.text
    account.refresh_from_db()
    assert account.state == PayoutAccount.State.ENABLED


def test_a_country_stripe_cannot_pay_out_to_is_refused_with_a_message(client):
    user = make_user()
    client.force_login(user)
    PayoutCountry.objects.filter(country="DE").update(enabled=False)
    for tampered in ("DE", "XX", "IN"):
        answer = client.post(reverse("payouts:connect"), {"country": tampered}, follow=True)
        assert "Payouts cannot be sent to banks in that country." in answer.text
    assert not PayoutAccount.objects.exists()


def test_the_bank_country_cannot_be_changed_once_chosen():
    user = make_user()
    payout_account_start(user=user, country="DE")
    assert payout_account_start(user=user, country="DE").country == "DE"
    with pytest.raises(ApplicationError, match="set up for a bank in Germany"):
        payout_account_start(user=user, country="FR")


def test_nobody_else_opens_someone_s_test_mode_onboarding(client):
    owner = make_user()
    account = payout_account_start(user=owner, country="DE")
    url = reverse("payouts:simulated_onboarding", args=[account.gateway_account_id])
    client.force_login(make_user())
    assert client.get(url).status_code == 404
    assert client.post(url, {"account_holder": "X", "iban": "DE89370400440532013000"}).status_code == 404
    account.refresh_from_db()
    assert not account.payouts_enabled


def test_the_test_mode_pages_do_not_exist_when_stripe_is_configured(client, settings):
    owner = make_user()
    account = payout_account_start(user=owner, country="DE")
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    client.force_login(owner)
    assert client.get(reverse("payouts:simulated_onboarding", args=[account.gateway_account_id])).status_code == 404


def test_a_failed_bank_payout_e_mails_the_freelancer_and_shows_what_to_fix(client):
    from payouts.services import payout_bank_update

    order = make_completed_order()
    connect_payouts(order.freelancer)
    with time_machine.travel(order.payout_due_at + timedelta(minutes=1)):
        payouts_run()
    payout = Payout.objects.get()
    gateway_failure = "The bank account number is invalid."
    # The simulated gateway never fails a bank payout; record the failure Stripe would report.
    from unittest import mock

    from payments.gateway import BankPayout

    failed = BankPayout(id="po_1", account_id=order.freelancer.payout_account.gateway_account_id, status="failed",
                        amount_cents=payout.amount_cents, currency="USD",
                        created=int((timezone.now() + timedelta(days=9)).timestamp()), failure_message=gateway_failure)
    carried = (payout.transfer_id,)
    with mock.patch("payments.simulated.SimulatedGateway.retrieve_bank_payout", return_value=failed), \
            mock.patch("payments.simulated.SimulatedGateway.bank_payout_transfer_ids", return_value=carried), \
            on_commit():
        payout_bank_update(account_id=failed.account_id, bank_payout_id="po_1")
        payout_bank_update(account_id=failed.account_id, bank_payout_id="po_1")  # a repeated event
    payout.refresh_from_db()
    assert (payout.status, payout.failure_message) == (P.FAILED, gateway_failure)
    failures = [message for message in mail.outbox if "refused a payout" in message.subject]
    assert f"order #{order.pk}" in failures[0].body
    assert len(failures) == 1
    assert gateway_failure in failures[0].body
    assert reconcile().ok


def test_reconcile_flags_a_payout_still_clearing_long_after_its_date():
    order = make_completed_order()
    assert reconcile(now=order.payout_due_at + timedelta(minutes=30)).ok  # the run may not have come yet
    report = reconcile(now=order.payout_due_at + timedelta(days=2))
    assert [problem for problem in report.problems if "is the payouts task running" in problem]


def test_a_bank_payout_settles_only_the_transfer_it_carried():
    from orders.models import Order

    first, second = make_completed_order(), make_completed_order()
    # The same designer; the second order clears a day later.
    Order.objects.filter(pk=second.pk).update(freelancer=first.freelancer)
    later = first.payout_due_at + timedelta(days=1)
    Payout.objects.filter(order=second).update(freelancer=first.freelancer, due_at=later)
    connect_payouts(first.freelancer)
    for moment in (first.payout_due_at, later):
        with time_machine.travel(moment + timedelta(minutes=1)):
            payouts_run()
    with time_machine.travel(first.payout_due_at + SIMULATED_BANK_PAYOUT_DELAY + timedelta(minutes=2)):
        payouts_run()  # the first transfer reaches the bank; the second, made later, not yet
    assert Payout.objects.get(order=first).status == P.PAID
    assert Payout.objects.get(order=second).status == P.TRANSFERRED
    assert LedgerEntry.objects.filter(kind=K.PAID_OUT).count() == 1
    assert reconcile().ok


def test_state_changing_payout_pages_refuse_get_and_other_people(client):
    owner = make_user()
    account = payout_account_start(user=owner, country="DE")
    client.force_login(owner)
    for name in ("payouts:connect", "payouts:dashboard"):
        assert client.get(reverse(name)).status_code == 405
    refused = client.post(reverse("payouts:dashboard"), follow=True)
    assert "Finish setting up payouts first." in refused.text
    client.force_login(make_user())
    dashboard = reverse("payouts:simulated_dashboard", args=[account.gateway_account_id])
    assert client.get(dashboard).status_code == 404


def test_changing_the_bank_country_is_refused_on_the_page(client):
    owner = make_user()
    payout_account_start(user=owner, country="DE")
    client.force_login(owner)
    answer = client.post(reverse("payouts:connect"), {"country": "FR"}, follow=True)
    assert "set up for a bank in Germany" in answer.text
    assert PayoutAccount.objects.get().country == "DE"

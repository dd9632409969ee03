"""Recoverable money operations seen from the orders (issue 13): a gateway call whose answer
is lost blocks the order until the recovery job finds out what happened; keys per attempt;
reconciliation's blind spots; gateway errors shown as pages, never as a 500; the card limit
on Send Case; accept_by in the client's own time zone."""

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile
from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError
from listings.tests.helpers import make_published
from orders.deadlines import orders_sweep
from orders.models import Order, OrderEvent
from orders.services import (
    order_accept,
    order_create,
    order_decline,
    order_mark_authorized,
    order_withdraw,
)
from orders.tests.helpers import make_order, stl_upload
from orders.transitions import ACCEPT_GRACE
from payments.gateway import GatewayError, PaymentStatus
from payments.ledger import ledger_record
from payments.models import LedgerEntry, MoneyOperation, SimulatedPayment
from payments.operations import RECOVER_AFTER, PaymentStepPending, money_recover
from payments.reconcile import reconcile, reconcile_gateway
from payments.simulated import SimulatedGateway
from payments.tests.helpers import API

pytestmark = pytest.mark.django_db
S = Order.Status
K = LedgerEntry.Kind

PENDING = ("A payment step for this order is being confirmed with the payment service. Nothing else can change "
           "until then; try again in a few minutes.")
UNAVAILABLE = "The payment service is not available right now."
RECOVERED_ONE = {"succeeded": 1, "failed": 0, "waiting": 0, "errors": 0}


def no_answer(detail: str = "APIConnectionError: read timed out") -> GatewayError:
    return GatewayError(UNAVAILABLE, detail=detail, definite=False)


def answer_lost(monkeypatch, name: str) -> None:
    """The simulated gateway carries the call out, but its answer never reaches us."""
    real = getattr(SimulatedGateway, name)

    def lost(self, *args, **kwargs):
        real(self, *args, **kwargs)
        raise no_answer()

    monkeypatch.setattr(SimulatedGateway, name, lost)


def unreachable(monkeypatch, name: str) -> None:
    """The call does not reach the simulated gateway at all, and no answer comes back."""

    def down(self, *args, **kwargs):
        raise no_answer("APIConnectionError: connect timed out")

    monkeypatch.setattr(SimulatedGateway, name, down)


def lose_the_capture(monkeypatch, order: Order) -> MoneyOperation:
    """The designer accepts: the capture goes through at the gateway, its answer and the
    look-up right after it are lost."""
    answer_lost(monkeypatch, "capture")
    unreachable(monkeypatch, "retrieve")
    with pytest.raises(PaymentStepPending) as pending:
        order_accept(order=order, by=order.freelancer)
    assert pending.value.message == PENDING
    monkeypatch.undo()  # the gateway answers again
    return order.money_operations.get(kind=MoneyOperation.Kind.CAPTURE)


def after_recovery_delay(operation: MoneyOperation):
    return time_machine.travel(operation.started_at + RECOVER_AFTER + dt.timedelta(minutes=1))


# --- 1. charged, order stuck ---------------------------------------------------------------------------


def test_a_capture_whose_answer_is_lost_blocks_the_order_until_the_recovery_job_accepts_it(
        client, monkeypatch, django_capture_on_commit_callbacks):
    order = make_order()
    answer_lost(monkeypatch, "capture")
    unreachable(monkeypatch, "retrieve")
    client.force_login(order.freelancer)

    page = client.post(reverse("orders:act", args=[order.pk, "accept"]), follow=True)

    # The designer is told the step is being confirmed; the order waits, though the card was charged.
    assert PENDING in page.content.decode()
    assert "You accepted the case." not in page.content.decode()
    order.refresh_from_db()
    assert order.status == S.REQUESTED
    assert SimulatedPayment.objects.get().status == PaymentStatus.SUCCEEDED
    assert not order.ledger.filter(kind=K.CAPTURED).exists()
    operation = order.money_operations.get(kind=MoneyOperation.Kind.CAPTURE)
    assert (operation.idempotency_key, operation.state) == (f"capture:order-{order.pk}:1", "started")

    # Nothing else may act on the order meanwhile, and each is told why.
    for attempt in (
        lambda: order_decline(order=order, by=order.freelancer, reason="Too busy"),
        lambda: order_withdraw(order=order, by=order.employer),
        lambda: order_accept(order=order, by=order.freelancer),
    ):
        with pytest.raises(PaymentStepPending) as refused:
            attempt()
        assert refused.value.message == PENDING
    declined = client.post(reverse("orders:act", args=[order.pk, "decline"]), {"reason": "Busy"}, follow=True)
    assert PENDING in declined.content.decode()

    # The deadline sweep does not expire it either, and says it waits rather than swallowing it.
    result = orders_sweep(now=order.accept_by + dt.timedelta(minutes=1))
    assert (result.waiting, result.expired, result.failed) == ([order.pk], [], [])
    order.refresh_from_db()
    assert order.status == S.REQUESTED
    assert order.money_operations.count() == 2  # the payment set-up and the one capture: nothing new started

    monkeypatch.undo()  # the gateway answers again
    with after_recovery_delay(operation):
        with django_capture_on_commit_callbacks(execute=True):
            assert money_recover() == RECOVERED_ONE
        order.refresh_from_db()
        assert order.status == S.ACCEPTED
        captured = order.ledger.get(kind=K.CAPTURED)
        charge = SimulatedPayment.objects.get().charge_id
        assert (captured.amount_cents, captured.gateway_id) == (order.total_cents, charge)
        operation.refresh_from_db()
        assert (operation.state, operation.gateway_id, operation.checks) == ("succeeded", charge, 1)
        assert OrderEvent.objects.filter(order=order, from_status=S.REQUESTED, to_status=S.ACCEPTED,
                                         actor=order.freelancer).count() == 1
        assert any(message.subject == f"[CadCam Masters] Receipt — order #{order.pk} accepted"
                   for message in mail.outbox)
        assert reconcile().problems == []


def test_a_capture_confirmed_too_late_expires_the_order_and_refunds_the_capture_in_full(
        monkeypatch, django_capture_on_commit_callbacks):
    order = make_order()
    lose_the_capture(monkeypatch, order)
    mail.outbox.clear()

    with time_machine.travel(order.accept_by + ACCEPT_GRACE + dt.timedelta(minutes=1)):
        assert orders_sweep().waiting == [order.pk]
        with django_capture_on_commit_callbacks(execute=True):
            assert money_recover() == RECOVERED_ONE
        order.refresh_from_db()
        assert order.status == S.EXPIRED
        captured, refunded = order.ledger.get(kind=K.CAPTURED), order.ledger.get(kind=K.REFUNDED)
        assert captured.amount_cents == refunded.amount_cents == order.total_cents
        assert SimulatedPayment.objects.get().refunded_cents == order.total_cents
        refund = order.money_operations.get(kind=MoneyOperation.Kind.REFUND)
        assert (refund.idempotency_key, refund.state, refund.gateway_id) == (
            f"refund:order-{order.pk}:1", "succeeded", refunded.gateway_id)
        assert not order.ledger.filter(kind=K.FEE).exists()
        subject = f"[CadCam Masters] Order #{order.pk}: the payment is refunded in full"
        assert sorted((message.to[0], message.subject) for message in mail.outbox) == sorted(
            [(order.employer.email, subject), (order.freelancer.email, subject)])
        assert all("whole amount is refunded" in message.body for message in mail.outbox)
        assert reconcile().problems == []


# --- 7. reconcile's blind spots (orders) ---------------------------------------------------------------


def test_reconcile_reports_a_refund_on_an_order_still_in_progress():
    order = make_order()
    order = order_accept(order=order, by=order.freelancer)
    assert reconcile().ok

    ledger_record(order=order, kind=K.REFUNDED, amount_cents=100, gateway_id="sim_re_999")

    assert reconcile().problems == [f"Order #{order.pk} (accepted): 100 refunded while the order is still open"]


def test_reconcile_reports_a_deleted_authorization():
    order = make_order()
    assert reconcile().ok

    order.ledger.filter(kind=K.AUTHORIZED).delete()

    assert reconcile().problems == [f"Order #{order.pk} (requested): authorized 0, order total {order.total_cents}"]


def test_reconcile_reports_an_attempt_whose_outcome_is_unknown_for_over_an_hour(monkeypatch):
    order = make_order()
    operation = lose_the_capture(monkeypatch, order)

    assert reconcile(now=operation.started_at + dt.timedelta(minutes=59)).ok  # the recovery job's time
    report = reconcile(now=operation.started_at + dt.timedelta(hours=1, minutes=1))

    assert report.problems == [
        f"Order #{order.pk}: capture:order-{order.pk}:1 ({operation.amount_display}) started "
        f"{operation.started_at:%Y-%m-%d %H:%M} and its outcome is still unknown after 0 check(s)"
    ]


def test_reconcile_gateway_finds_a_refund_the_ledger_does_not_have_and_the_command_fails():
    order = make_order()
    order = order_accept(order=order, by=order.freelancer)
    refund = SimulatedGateway().refund(payment_id=order.payment_id, amount_cents=500,
                                       idempotency_key="made-in-the-dashboard")
    plain = StringIO()
    call_command("reconcile", stdout=plain)  # the ledger agrees with itself
    assert "Every order reconciles." in plain.getvalue()

    report = reconcile_gateway()

    assert report.problems == [
        f"Order #{order.pk} (accepted): 500 refunded at the gateway, 0 in the ledger",
        f"Order #{order.pk} (accepted): refund {refund.id} of 500 (succeeded) is not in the ledger",
    ]
    err = StringIO()
    with pytest.raises(CommandError, match=r"2 mismatch\(es\) found"):
        call_command("reconcile", "--gateway", stdout=StringIO(), stderr=err)
    assert f"refund {refund.id} of 500 (succeeded) is not in the ledger" in err.getvalue()


def test_reconcile_gateway_finds_a_capture_the_gateway_does_not_have():
    order = make_order()
    assert reconcile_gateway().ok
    LedgerEntry.objects.create(order=order, kind=K.CAPTURED, amount_cents=order.total_cents, currency="USD",
                               gateway_id=SimulatedPayment.objects.get().charge_id)

    report = reconcile_gateway()

    assert f"Order #{order.pk} (requested): 0 captured at the gateway, {order.total_cents} in the ledger" in (
        report.problems)
    with pytest.raises(CommandError, match=r"mismatch\(es\) found"):
        call_command("reconcile", "--gateway", stdout=StringIO(), stderr=StringIO())


# --- 8. gateway errors never 500 -------------------------------------------------------------------------


@pytest.mark.parametrize("definite", [True, False], ids=["refused", "no answer"])
def test_a_payment_that_cannot_be_set_up_leaves_the_order_waiting_with_a_page_to_try_again(
        client, monkeypatch, definite):
    listing = make_published()
    client.force_login(make_user())

    def down(self, **kwargs):
        raise GatewayError(UNAVAILABLE, detail="APIConnectionError: connect timed out", definite=definite)

    monkeypatch.setattr(SimulatedGateway, "create_payment", down)

    sent = client.post(reverse("orders:send_case", args=[listing.pk]), {"quantity": "1", "files": [stl_upload()]})

    order = Order.objects.get()
    assert sent.status_code == 302 and sent["Location"] == reverse("orders:pay", args=[order.pk])
    assert (order.status, order.payment_id, order.files.count()) == (S.PENDING_PAYMENT, "", 1)
    page = client.get(reverse("orders:pay", args=[order.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-testid="payment-unavailable"' in body
    assert "Try again" in body and "nothing has been charged" in body
    assert (f"{UNAVAILABLE} Nothing was changed; please try again." if definite else PENDING) in body

    monkeypatch.undo()  # the payment service is back
    if not definite:
        first = order.money_operations.get()
        with after_recovery_delay(first):
            assert money_recover() == RECOVERED_ONE
    page = client.get(reverse("orders:pay", args=[order.pk]))
    assert page.status_code == 200 and "TEST MODE" in page.content.decode()
    order.refresh_from_db()
    assert order.payment_id == SimulatedPayment.objects.get().gateway_id
    attempts = list(order.money_operations.order_by("attempt").values_list("idempotency_key", "state"))
    key = f"payment:order-{order.pk}"
    if definite:  # Send Case, the first page, the page once the service is back
        assert attempts == [(f"{key}:1", "failed"), (f"{key}:2", "failed"), (f"{key}:3", "succeeded")]
    else:  # one attempt, finished by the recovery job
        assert attempts == [(f"{key}:1", "succeeded")]


@pytest.mark.parametrize(("definite", "status", "title"), [
    (False, 503, "Please try again shortly"),
    (True, 409, "That is not possible now"),
])
def test_a_gateway_error_while_a_page_is_built_is_a_page_not_a_500(client, monkeypatch, definite, status, title):
    order = make_order()
    client.force_login(order.employer)

    def fetching(user, pk):  # the page asks the payment service, which does not answer (or refuses)
        raise GatewayError(UNAVAILABLE, detail="APIConnectionError: read timed out", definite=definite)

    monkeypatch.setattr("orders.views.order_for", fetching)

    page = client.get(reverse("orders:detail", args=[order.pk]))

    assert page.status_code == status
    assert page.templates[0].name == "refused.html"
    body = page.content.decode()
    assert 'data-testid="refused"' in body and title in body and UNAVAILABLE in body and "Try again" in body


def test_a_gateway_error_on_a_form_post_goes_back_with_the_message(client, monkeypatch):
    order = make_order()
    client.force_login(order.freelancer)
    detail = reverse("orders:detail", args=[order.pk])

    def fetching(user, pk):
        raise no_answer()

    monkeypatch.setattr("orders.views.order_for", fetching)
    answer = client.post(reverse("orders:act", args=[order.pk, "accept"]), HTTP_REFERER=f"http://testserver{detail}")

    assert answer.status_code == 302 and answer["Location"] == f"http://testserver{detail}"
    monkeypatch.undo()
    assert UNAVAILABLE in client.get(detail).content.decode()


def test_the_stripe_pay_page_without_an_answer_offers_to_try_again(client, stripe_api):
    intent = {"id": "pi_1", "object": "payment_intent", "amount": 1500, "currency": "usd", "latest_charge": None,
              "status": "requires_payment_method", "client_secret": "pi_1_secret"}
    stripe_api.post(f"{API}/payment_intents", json=intent)
    stripe_api.get(f"{API}/payment_intents/pi_1", status=500, json={"error": {"type": "api_error",
                                                                                "message": "boom"}})
    order = order_create(listing=make_published(price_cents=1500), employer=make_user())
    assert order.payment_id == "pi_1"
    client.force_login(order.employer)

    page = client.get(reverse("orders:pay", args=[order.pk]))

    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-testid="payment-unavailable"' in body and UNAVAILABLE in body and "Try again" in body
    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT


# --- 9. the card limit on Send Case ------------------------------------------------------------------------


TOO_MUCH = ("A case can cost at most $999,999.99 (the most a card can pay at once); this one comes to "
            "$1,000,000.00. Send fewer units per case.")


def test_a_case_above_the_card_limit_is_refused_and_nothing_is_created():
    listing = make_published(price_cents=1_000_000, options=[("Express 24 h", 999_999)])
    express = listing.options.get()

    with pytest.raises(ApplicationError) as refused:
        order_create(listing=listing, employer=make_user(), quantity=100)

    assert refused.value.message == TOO_MUCH
    assert not Order.objects.exists() and not MoneyOperation.objects.exists()
    assert not SimulatedPayment.objects.exists()
    # The most a card can pay is still fine.
    order = order_create(listing=listing, employer=make_user(), quantity=99, option_ids=[express.pk])
    assert order.total_cents == 99_999_999
    assert SimulatedPayment.objects.get().amount_cents == 99_999_999


def test_send_case_above_the_card_limit_shows_the_message_on_the_form(client):
    listing = make_published(price_cents=1_000_000)
    client.force_login(make_user())

    response = client.post(reverse("orders:send_case", args=[listing.pk]), {"quantity": "100",
                                                                           "files": [stl_upload()]})

    assert response.status_code == 200
    assert TOO_MUCH in response.content.decode()
    assert not Order.objects.exists()


# --- 10. accept_by in the client's own time zone ------------------------------------------------------------


def test_accept_by_is_midnight_of_the_due_date_in_the_clients_zone_whoever_marks_it_authorized():
    employer = make_user()
    Profile.objects.filter(user=employer).update(time_zone="Pacific/Auckland")
    due = timezone.localdate() + dt.timedelta(days=3)
    expected = dt.datetime.combine(due, dt.time.min, tzinfo=ZoneInfo("Pacific/Auckland"))
    accept_by = {}

    for zone in ("UTC", "America/Los_Angeles", "Asia/Tokyo", "Pacific/Auckland"):
        order = make_order(employer=employer, due_date=due, authorized=False)
        SimulatedGateway().customer_pays(payment_id=order.payment_id, approve=True)
        with timezone.override(ZoneInfo(zone)):  # the request (or the webhook worker) that marks it
            accept_by[zone] = order_mark_authorized(order=order).accept_by

    assert accept_by == dict.fromkeys(accept_by, expected)
    assert expected < timezone.now() + dt.timedelta(days=3)  # the due date comes before the three days


# --- 11. one key per attempt; a replay keeps it ----------------------------------------------------------------


def test_recovering_a_payment_set_up_replays_its_own_key_and_makes_no_new_attempt(monkeypatch):
    keys = []
    real = SimulatedGateway.create_payment

    def lost(self, **kwargs):
        keys.append(kwargs["idempotency_key"])
        real(self, **kwargs)
        raise no_answer()

    def answering(self, **kwargs):
        keys.append(kwargs["idempotency_key"])
        return real(self, **kwargs)

    monkeypatch.setattr(SimulatedGateway, "create_payment", lost)
    order = order_create(listing=make_published(), employer=make_user())
    assert (order.status, order.payment_id) == (S.PENDING_PAYMENT, "")
    operation = order.money_operations.get()

    monkeypatch.setattr(SimulatedGateway, "create_payment", answering)
    with after_recovery_delay(operation):
        assert money_recover() == RECOVERED_ONE

    key = f"payment:order-{order.pk}:1"
    assert keys == [key, key, key]  # the call, the look-up right after it, the recovery job's replay
    order.refresh_from_db()
    assert order.payment_id == SimulatedPayment.objects.get().gateway_id  # one payment at the gateway
    assert list(MoneyOperation.objects.values_list("idempotency_key", "attempt", "state")) == [
        (key, 1, "succeeded")]


def test_the_sweep_counts_an_unpaid_order_with_an_unknown_set_up_as_waiting(monkeypatch):
    unreachable(monkeypatch, "create_payment")
    order = order_create(listing=make_published(), employer=make_user())

    result = orders_sweep(now=order.created_at + dt.timedelta(hours=2))

    assert (result.waiting, result.expired, result.failed) == ([order.pk], [], [])
    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT

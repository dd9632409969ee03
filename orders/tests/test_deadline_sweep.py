"""The deadline sweep at scale (issue 17): planned in chunks by keyset pagination under a lock,
each chunk set-based, one e-mail per recipient per sweep. The sweep's basic behaviour (what
expires, completes, is reminded) is in test_state_machine.py; money steps whose answer is
lost in test_money_recovery.py."""

import datetime as dt
import threading
from collections import Counter
from itertools import pairwise

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.helpers import make_user
from cadcam.metrics import job_last_run
from listings.tests.helpers import make_published
from orders import deadlines, notices, sweep_services
from orders.deadlines import CHUNK_ONE_CALL_EACH, chunk_size, orders_sweep, sweep_chunks, sweep_lock
from orders.models import Order, OrderEvent, OrderNotice
from orders.services import order_accept
from orders.sweep_services import SERVICES
from orders.tasks import run_deadlines
from orders.tests.helpers import make_order
from payments.gateway import PaymentStatus
from payments.ledger import ledger_balances
from payments.models import LedgerEntry, MoneyOperation
from payments.operations import RECOVER_AFTER, money_recover
from payments.reconcile import reconcile
from payments.simulated import SimulatedGateway

pytestmark = pytest.mark.django_db
S = Order.Status
CANCEL = MoneyOperation.Kind.CANCEL


def link(order) -> str:
    return f"://{settings.SITE_DOMAIN}{reverse('orders:detail', args=[order.pk])}"


def payment_status(order) -> str:
    return SimulatedGateway().retrieve(order.payment_id).status


def due_ids(kind: str, now, chunk=None) -> set[int]:
    due = Order.objects.filter(SERVICES[kind][0](now))
    if chunk is not None:
        due = due.filter(pk__gte=chunk.first, pk__lte=chunk.last)
    return set(due.values_list("pk", flat=True))


def test_the_chunks_cover_every_due_order_once_and_each_order_keeps_its_recorded_transition(
        monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(deadlines, "CHUNK", 2)
    listing, employer = make_published(), make_user()
    waiting = [make_order(listing=listing, employer=employer) for _ in range(5)]
    working = [make_order(listing=listing, employer=employer) for _ in range(3)]
    for order in working:
        order_accept(order=order, by=order.freelancer)
    later = timezone.now() + dt.timedelta(days=31)
    with time_machine.travel(later - dt.timedelta(days=1)):
        not_due = make_order(listing=listing)  # accept_by two days after `later`
    mail.outbox.clear()

    # given: the plan, in chunks of two consecutive due ids, each kind apart
    chunks = list(sweep_chunks(now=later))
    assert [chunk.kind for chunk in chunks] == ["expire"] * 3 + ["complete"] * 2
    for kind in ("expire", "complete"):
        of_kind = [chunk for chunk in chunks if chunk.kind == kind]
        assert all(a.last < b.first for a, b in pairwise(of_kind))  # disjoint, in order
        covered = [due_ids(kind, later, chunk) for chunk in of_kind]
        assert sum(len(ids) for ids in covered) == len(due_ids(kind, later))  # none twice
        assert set().union(*covered) == due_ids(kind, later) == {
            o.pk for o in (waiting if kind == "expire" else working)}

    # when: the beat's task plans and fans the chunks out (inline here), then e-mails
    with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
        assert run_deadlines.delay().get() == {"chunks": 5}

    # then: each order changed once, through a locked transition with its event (and money records)
    for order in waiting:
        order.refresh_from_db()
        assert order.status == S.EXPIRED
        assert list(OrderEvent.objects.filter(order=order, from_status=S.REQUESTED).values_list(
            "to_status", "actor", "note")) == [(S.EXPIRED, None, "Not accepted in time")]
        assert list(order.money_operations.filter(kind=CANCEL).values_list("idempotency_key", "state")) == [
            (f"cancel:order-{order.pk}:1", "succeeded")]
        assert payment_status(order) == PaymentStatus.CANCELED
    balances = ledger_balances([order.pk for order in working])
    for order in working:
        order.refresh_from_db()
        assert order.status == S.COMPLETED
        assert OrderEvent.objects.filter(order=order, to_status=S.COMPLETED, actor__isnull=True).count() == 1
        assert (order.owed_cents, order.payout_due_at) == (order.net_cents, order.completed_at + dt.timedelta(days=7))
        assert balances[order.pk][LedgerEntry.Kind.FEE] == order.fee_cents
    not_due.refresh_from_db()
    assert not_due.status == S.REQUESTED
    assert reconcile().ok
    # one e-mail for the client and one for the designer, the lock released, the run recorded
    assert sorted(message.to[0] for message in mail.outbox) == sorted([employer.email, listing.owner.email])
    assert not sweep_lock().locked()
    assert job_last_run("order_deadlines") is not None


def test_planning_reads_ids_a_page_at_a_time_never_a_query_without_limit(monkeypatch):
    monkeypatch.setattr(deadlines, "CHUNK", 2)
    orders = [make_order() for _ in range(5)]
    later = max(order.accept_by for order in orders) + dt.timedelta(minutes=1)

    with CaptureQueriesContext(connection) as queries:
        chunks = list(sweep_chunks(now=later))

    assert len(chunks) == 3
    assert len(queries.captured_queries) == 3 + 3  # three pages of expiries; one empty page for each other kind
    assert all(" LIMIT 2" in query["sql"] for query in queries.captured_queries), queries.captured_queries


def test_a_sweep_while_another_holds_the_lock_does_nothing_until_it_is_released():
    order = make_order()
    later = order.accept_by + dt.timedelta(minutes=1)
    held = sweep_lock()
    assert held.acquire(blocking=False)
    try:
        assert orders_sweep(now=later).skipped
        with time_machine.travel(later):
            assert run_deadlines.delay().get() == {"skipped": True}
        order.refresh_from_db()
        assert order.status == S.REQUESTED
    finally:
        held.release()

    assert orders_sweep(now=later).expired == [order.pk]


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_never_overlap(monkeypatch):
    order = make_order()
    later = order.accept_by + dt.timedelta(minutes=1)
    planning, go_on = threading.Event(), threading.Event()
    real = deadlines.sweep_chunks

    def slow_planning(*, now):
        planning.set()
        go_on.wait(10)
        yield from real(now=now)

    monkeypatch.setattr(deadlines, "sweep_chunks", slow_planning)
    first = {}

    def sweep():
        try:
            first["result"] = orders_sweep(now=later)
        finally:
            connection.close()

    thread = threading.Thread(target=sweep)
    thread.start()
    assert planning.wait(10)
    second = orders_sweep(now=later)  # while the first one plans
    go_on.set()
    thread.join(30)

    assert second.skipped and second.expired == []
    assert not first["result"].skipped and first["result"].expired == [order.pk]
    assert OrderEvent.objects.filter(order=order, to_status=S.EXPIRED).count() == 1
    assert MoneyOperation.objects.filter(order=order, kind=CANCEL).count() == 1


def test_a_recipient_with_several_due_orders_gets_one_email_listing_them(django_capture_on_commit_callbacks):
    listing, client = make_published(), make_user()
    theirs = [make_order(listing=listing, employer=client) for _ in range(3)]
    another = make_order(listing=listing)  # the same designer, another client
    later = max(order.accept_by for order in [*theirs, another]) + dt.timedelta(minutes=1)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        result = orders_sweep(now=later)

    assert sorted(result.expired) == sorted(order.pk for order in [*theirs, another])
    assert result.emails == 3
    assert Counter(message.to[0] for message in mail.outbox) == {
        client.email: 1, another.employer.email: 1, listing.owner.email: 1}
    [to_client] = [message for message in mail.outbox if message.to == [client.email]]
    assert to_client.subject == "[CadCam Masters] Your orders: 3 expired"
    html = to_client.alternatives[0][0]
    for order in theirs:
        assert (f'Order #{order.pk} "{order.title}" expired (not accepted in time). Nothing was charged: the '
                "authorization on your card is released.") in to_client.body
        assert link(order) + "\n" in to_client.body
        assert f'href="http{link(order)}"' in html
    assert str(another.pk) not in to_client.body.replace(str(listing.pk), "")
    [to_designer] = [message for message in mail.outbox if message.to == [listing.owner.email]]
    assert to_designer.subject == "[CadCam Masters] Your orders: 4 expired"
    assert all(link(order) in to_designer.body for order in [*theirs, another])
    assert "authorization on your card" not in to_designer.body
    assert not OrderNotice.objects.filter(sent_at__isnull=True).exists()

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert orders_sweep(now=later).emails == 0  # nothing is told twice
    assert mail.outbox == []


def test_the_beats_sweep_sends_its_emails_in_pages_of_recipients_once_each(
        monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(notices, "RECIPIENTS_PAGE", 2)
    listing = make_published()
    orders = [make_order(listing=listing) for _ in range(3)] + [make_order(listing=listing, employer=make_user())]
    later = max(order.accept_by for order in orders) + dt.timedelta(minutes=1)
    assert len(list(notices.order_notices_recipient_pages())) == 0
    mail.outbox.clear()

    with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
        run_deadlines.delay()

    recipients = {order.employer.email for order in orders} | {listing.owner.email}
    assert Counter(message.to[0] for message in mail.outbox) == dict.fromkeys(recipients, 1)  # 5 in 3 pages
    assert not OrderNotice.objects.filter(sent_at__isnull=True).exists()
    assert not sweep_lock().locked()


def test_completions_tell_the_designer_what_is_due_and_when(django_capture_on_commit_callbacks):
    order = make_order()
    order_accept(order=order, by=order.freelancer)
    order.refresh_from_db()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert orders_sweep(now=order.auto_complete_at + dt.timedelta(minutes=1)).completed == [order.pk]

    order.refresh_from_db()
    [to_designer] = [message for message in mail.outbox if message.to == [order.freelancer.email]]
    assert to_designer.subject == "[CadCam Masters] Your orders: 1 completed"
    due_on = timezone.localtime(order.payout_due_at, order.freelancer.profile.time_zone)
    assert (f"completed automatically. ${order.owed_cents / 100:.2f} is due to you on "
            f"{due_on:%-d %B %Y}, after the clearing period.") in to_designer.body
    [to_client] = [message for message in mail.outbox if message.to == [order.employer.email]]
    assert "completed automatically after 30 days. You can now review each other." in to_client.body


def test_a_chunk_that_dies_after_the_gateway_call_is_finished_by_the_recovery_job_and_told_by_the_next_sweep(
        monkeypatch, django_capture_on_commit_callbacks):
    orders = [make_order() for _ in range(2)]
    later = max(order.accept_by for order in orders) + dt.timedelta(minutes=1)
    real = SimulatedGateway.cancel_many

    def dies_after_the_call(self, calls):
        real(self, calls)
        raise RuntimeError("the worker was killed")

    monkeypatch.setattr(SimulatedGateway, "cancel_many", dies_after_the_call)
    mail.outbox.clear()

    result = orders_sweep(now=later)

    assert (result.chunks, result.chunks_failed, result.expired) == (1, 1, [])
    for order in orders:
        order.refresh_from_db()
        assert order.status == S.REQUESTED  # the authorization is released, the order not yet moved
        assert payment_status(order) == PaymentStatus.CANCELED
        assert list(order.money_operations.filter(kind=CANCEL).values_list("idempotency_key", "state")) == [
            (f"cancel:order-{order.pk}:1", "started")]
    monkeypatch.undo()

    # The next sweep leaves them to the recovery job (no second call), which finishes them.
    assert sorted(orders_sweep(now=later).waiting) == sorted(order.pk for order in orders)
    with time_machine.travel(later + RECOVER_AFTER + dt.timedelta(minutes=1)):
        assert money_recover()["succeeded"] == 2
        with django_capture_on_commit_callbacks(execute=True):
            assert orders_sweep().emails == 4  # both parties of each order, once, in the sweep's e-mail
    for order in orders:
        order.refresh_from_db()
        assert order.status == S.EXPIRED
        assert list(OrderEvent.objects.filter(order=order, to_status=S.EXPIRED).values_list("note", flat=True)) == [
            "Not accepted in time"]
        assert order.money_operations.filter(kind=CANCEL).count() == 1
    assert {message.subject for message in mail.outbox} == {"[CadCam Masters] Your orders: 1 expired"}
    assert reconcile().ok


def test_a_chunk_that_fails_is_logged_the_sweep_still_ends_and_the_next_one_takes_its_orders(
        monkeypatch, caplog, django_capture_on_commit_callbacks):
    order = make_order()
    order_accept(order=order, by=order.freelancer)
    order.refresh_from_db()
    later = order.auto_complete_at + dt.timedelta(minutes=1)

    def broken(order_ids):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(sweep_services, "ledger_balances", broken)  # midway: the rows are locked by then
    with time_machine.travel(later):
        assert run_deadlines.delay().get() == {"chunks": 1}
    assert "Deadline chunk complete" in caplog.text
    order.refresh_from_db()
    assert order.status == S.ACCEPTED and not OrderEvent.objects.filter(order=order, to_status=S.COMPLETED).exists()
    assert not sweep_lock().locked()  # the sweep ended all the same
    monkeypatch.undo()

    with time_machine.travel(later + dt.timedelta(minutes=1)), django_capture_on_commit_callbacks(execute=True):
        run_deadlines.delay()
    order.refresh_from_db()
    assert order.status == S.COMPLETED
    assert OrderEvent.objects.filter(order=order, to_status=S.COMPLETED).count() == 1
    assert order.ledger.filter(kind=LedgerEntry.Kind.FEE).count() == 1


def test_without_a_bulk_cancel_the_gateway_is_called_once_per_order_in_smaller_chunks(monkeypatch):
    orders = [make_order() for _ in range(3)]
    later = max(order.accept_by for order in orders) + dt.timedelta(minutes=1)
    monkeypatch.delattr(SimulatedGateway, "cancel_many")  # as Stripe: one cancel per PaymentIntent
    calls = []
    real = SimulatedGateway.cancel

    def counted(self, **kwargs):
        calls.append(kwargs["idempotency_key"])
        return real(self, **kwargs)

    monkeypatch.setattr(SimulatedGateway, "cancel", counted)

    assert chunk_size("expire") == CHUNK_ONE_CALL_EACH
    result = orders_sweep(now=later)

    assert sorted(result.expired) == sorted(order.pk for order in orders)
    assert sorted(calls) == sorted(f"cancel:order-{order.pk}:1" for order in orders)
    assert all(payment_status(order) == PaymentStatus.CANCELED for order in orders)

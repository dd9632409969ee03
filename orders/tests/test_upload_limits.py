"""Limits on what Send Case stores: files and bytes per case, cases an hour, the storage quota
for cases not paid yet, and the deletion of the files of cases that ended unpaid."""

import os
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError
from listings.tests.helpers import make_published
from orders.deadlines import orders_sweep
from orders.models import Order, OrderFile
from orders.selectors import unpaid_case_files_bytes
from orders.services import (
    order_accept,
    order_create,
    order_decline,
    order_expire,
    order_withdraw,
    unpaid_case_files_purge,
)
from orders.tests.helpers import make_order, race, stl_upload
from payments.ledger import ledger_record
from payments.models import LedgerEntry

pytestmark = pytest.mark.django_db
S = Order.Status

STL_BYTES = len(stl_upload().read())  # 134: one triangle


def send_case(client, listing, files):
    return client.post(reverse("orders:send_case", args=[listing.pk]), {"quantity": "1", "files": files}, follow=True)


def stored_files(root) -> list[str]:
    return [name for _, _, names in os.walk(root) for name in names]


# --- per Send Case ----------------------------------------------------------------------------------


def test_more_files_than_one_case_takes_are_refused_with_their_names_and_nothing_is_stored(client, settings):
    settings.UPLOAD_MAX_FILES = 3
    listing = make_published()
    client.force_login(make_user())

    response = send_case(client, listing, [stl_upload(f"tooth-{n}.stl") for n in range(1, 6)])

    page = response.content.decode()
    assert "Send at most 3 files at once; left out: tooth-4.stl, tooth-5.stl." in page
    assert not Order.objects.exists()
    assert stored_files(settings.PRIVATE_MEDIA_ROOT / "orders") == []


def test_more_bytes_than_one_case_takes_are_refused_and_nothing_is_stored(client, settings):
    settings.UPLOAD_MAX_REQUEST_BYTES = 2 * STL_BYTES + 10
    listing = make_published()
    client.force_login(make_user())

    response = send_case(client, listing, [stl_upload("a.stl"), stl_upload("b.stl"), stl_upload("c.stl")])

    assert "left out: c.stl." in response.content.decode()
    assert not Order.objects.exists()
    assert stored_files(settings.PRIVATE_MEDIA_ROOT / "orders") == []


def test_the_service_checks_the_same_limits_without_the_upload_handler(settings):
    settings.UPLOAD_MAX_FILES = 2
    with pytest.raises(ApplicationError, match=r"Send at most 2 files at once \(this was 3\)\."):
        make_order(files=[stl_upload(), stl_upload(), stl_upload()])
    settings.UPLOAD_MAX_FILES = 20
    settings.UPLOAD_MAX_REQUEST_BYTES = STL_BYTES
    with pytest.raises(ApplicationError, match=r"Send at most 134\xa0bytes of files at once \(this was 268"):
        make_order(files=[stl_upload(), stl_upload()])
    assert not Order.objects.exists()


def test_twenty_files_within_the_limits_go_through(client):
    listing = make_published()
    client.force_login(make_user())

    send_case(client, listing, [stl_upload(f"tooth-{n}.stl") for n in range(20)])

    assert Order.objects.get().files.count() == 20


# --- per account ------------------------------------------------------------------------------------


def test_send_case_is_limited_per_hour_per_account(client, settings):
    settings.SEND_CASE_PER_HOUR = 2
    listing = make_published()
    employer = make_user()
    client.force_login(employer)
    for _ in range(2):
        send_case(client, listing, [stl_upload()])

    response = send_case(client, listing, [stl_upload()])

    assert "You have sent 2 cases in the last hour, the most one account may." in response.content.decode()
    assert Order.objects.count() == 2
    make_order(listing=listing, files=[stl_upload()])  # another account is not held back
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        send_case(client, listing, [stl_upload()])
    assert Order.objects.filter(employer=employer).count() == 3


def test_files_of_unpaid_cases_have_a_storage_quota_per_account(client, settings):
    settings.UNPAID_CASE_FILES_QUOTA_BYTES = 3 * STL_BYTES
    listing = make_published()
    employer = make_user()
    client.force_login(employer)
    send_case(client, listing, [stl_upload("a.stl"), stl_upload("b.stl")])  # waiting for payment

    response = send_case(client, listing, [stl_upload("c.stl"), stl_upload("d.stl")])

    page = response.content.decode()
    assert "Your cases that are not paid yet hold 268\xa0bytes of files" in page
    assert "would pass the limit of 402\xa0bytes" in page
    assert Order.objects.count() == 1
    assert unpaid_case_files_bytes(employer) == 2 * STL_BYTES


def test_a_paid_case_no_longer_counts_and_an_ended_unpaid_one_counts_until_its_files_are_deleted(settings):
    settings.UNPAID_CASE_FILES_QUOTA_BYTES = 2 * STL_BYTES
    employer = make_user()
    first = make_order(employer=employer, files=[stl_upload(), stl_upload()])
    with pytest.raises(ApplicationError, match="not paid yet"):
        make_order(employer=employer, files=[stl_upload()])

    order_accept(order=first, by=first.freelancer)  # captured: paid
    declined = make_order(employer=employer, files=[stl_upload(), stl_upload()])
    order_decline(order=declined, by=declined.freelancer)
    assert unpaid_case_files_bytes(employer) == 2 * STL_BYTES  # declined, files still kept
    with pytest.raises(ApplicationError, match="not paid yet"):
        make_order(employer=employer, files=[stl_upload()])

    later = timezone.now() + timedelta(days=settings.UNPAID_CASE_FILES_KEPT_DAYS, minutes=1)
    assert unpaid_case_files_purge(now=later) == 2
    assert unpaid_case_files_bytes(employer) == 0
    make_order(employer=employer, files=[stl_upload()])


@pytest.mark.django_db(transaction=True)  # two threads, two connections: the lock must really hold
def test_two_send_cases_at_once_cannot_both_pass_the_quota(settings):
    settings.UNPAID_CASE_FILES_QUOTA_BYTES = STL_BYTES
    listing = make_published()
    employer = make_user()

    outcomes = race(
        lambda: order_create(listing=listing, employer=employer, files=[stl_upload("a.stl")]),
        lambda: order_create(listing=listing, employer=employer, files=[stl_upload("b.stl")]),
    )

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["ApplicationError", "NoneType"]
    assert Order.objects.count() == 1


# --- files of cases that ended unpaid -------------------------------------------------------------------


def test_files_of_cases_ended_unpaid_are_deleted_from_storage_after_the_grace_period(client, settings):
    withdrawn = make_order(files=[stl_upload("withdrawn.stl")])
    order_withdraw(order=withdrawn, by=withdrawn.employer)
    expired = make_order(authorized=False, files=[stl_upload("never-paid.stl")])
    order_expire(order=expired, now=timezone.now() + timedelta(hours=2))
    paid = make_order(files=[stl_upload("paid.stl")])
    order_accept(order=paid, by=paid.freelancer)
    waiting = make_order(files=[stl_upload("waiting.stl")])
    paths = {f.name: f.file.path for f in OrderFile.objects.all()}
    days = settings.UNPAID_CASE_FILES_KEPT_DAYS

    assert unpaid_case_files_purge(now=timezone.now() + timedelta(days=days - 1)) == 0
    with time_machine.travel(timezone.now() + timedelta(days=days, hours=3)):
        result = orders_sweep()

    assert result.files_deleted == 2
    for name in ("withdrawn.stl", "never-paid.stl"):
        stored = OrderFile.objects.get(name=name)
        assert not stored.file and stored.deleted_at and stored.size == STL_BYTES and stored.sha256
        assert not os.path.exists(paths[name])  # gone from storage, not only from the row
    for name in ("paid.stl", "waiting.stl"):
        assert os.path.exists(paths[name])
    assert unpaid_case_files_purge(now=timezone.now() + timedelta(days=days + 1)) == 0  # nothing left to do

    stored = OrderFile.objects.get(name="withdrawn.stl")
    client.force_login(withdrawn.employer)
    page = client.get(reverse("orders:detail", args=[withdrawn.pk])).content.decode()
    assert "withdrawn.stl (134\xa0bytes): deleted on" in page
    assert client.get(reverse("orders:download", args=[withdrawn.pk, stored.pk])).status_code == 404
    assert waiting.status == S.REQUESTED


def test_a_purge_that_stopped_after_deleting_the_file_finishes_on_the_next_run():
    order = make_order(files=[stl_upload("half.stl")])
    order_withdraw(order=order, by=order.employer)
    stored = OrderFile.objects.get()
    stored.file.storage.delete(stored.file.name)  # the file went; the row was never updated

    assert unpaid_case_files_purge(now=timezone.now() + timedelta(days=30)) == 1
    assert OrderFile.objects.get().deleted_at is not None


def test_files_of_an_order_whose_money_was_captured_are_kept_and_do_not_count_as_unpaid(settings):
    """An acceptance confirmed too late expires the order and refunds the capture: a paid case
    whose files may be evidence (the refund failing, a chargeback)."""
    order = make_order(files=[stl_upload("evidence.stl")])
    order_expire(order=order, now=order.accept_by + timedelta(minutes=1))
    # The capture's answer comes back late: the money was taken; the refund has not succeeded.
    ledger_record(order=order, kind=LedgerEntry.Kind.CAPTURED, amount_cents=order.total_cents, gateway_id="ch_late")

    later = timezone.now() + timedelta(days=settings.UNPAID_CASE_FILES_KEPT_DAYS + 1)
    unpaid_case_files_purge(now=later)

    assert OrderFile.objects.get(name="evidence.stl").deleted_at is None
    assert unpaid_case_files_bytes(order.employer) == 0


# --- storage_report -----------------------------------------------------------------------------------


def test_storage_report_prints_usage_by_state_and_by_account():
    employer = make_user(email="lab@example.com")
    make_order(employer=employer, files=[stl_upload(), stl_upload()])
    accepted = make_order(employer=employer, files=[stl_upload()])
    order_accept(order=accepted, by=accepted.freelancer)
    out = StringIO()

    call_command("storage_report", stdout=out)

    report = out.getvalue()
    assert "Case and delivery files, by order state:" in report
    assert "requested                  2 files    268\xa0bytes" in report
    assert "accepted                   1 files    134\xa0bytes" in report
    assert "total                      3 files    402\xa0bytes" in report
    line = next(line for line in report.splitlines() if "lab@example.com" in line)
    assert "case and delivery files  402\xa0bytes" in line
    assert "of them on unpaid cases  268\xa0bytes" in line

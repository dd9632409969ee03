"""Earnings (freelancer), spending and receipts (employer), the chart and the CSV export.

Orders travel the real services: paid with the simulated gateway, accepted (captured),
completed (a payout starts clearing), then sent by the payout run once cleared."""

import csv
import datetime as dt
import io
import zoneinfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Profile
from accounts.tests.helpers import make_user
from listings.tests.helpers import make_published
from orders.services import order_accept, order_complete, order_decline
from orders.tests.helpers import make_order
from payments.ledger import ledger_record
from payments.models import LedgerEntry
from payouts.charts import PLOT_HEIGHT, earnings_chart, nice_ceiling
from payouts.earnings import decimal_amount, safe_cell
from payouts.models import Payout
from payouts.selectors import (
    ClearingDate,
    earnings_by_month,
    earnings_orders,
    earnings_summary,
    payout_state_label,
    short_reference,
    spending_of,
)
from payouts.services import payout_open, payouts_run
from payouts.tests.helpers import connect_payouts

pytestmark = pytest.mark.django_db
UTC = dt.UTC
MARCH_2 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def accepted(listing, **kwargs):
    order = make_order(listing=listing, **kwargs)
    return order_accept(order=order, by=order.freelancer)


def completed(listing, **kwargs):
    """Completed, with its payout opened as the scheduled run does."""
    order = accepted(listing, **kwargs)
    order = order_complete(order=order, by=order.employer)
    payout_open(order=order)
    return order


def refund_recorded(order, cents: int):
    """Refunds belong to the disputes app, built at the same time: only its ledger row is
    written here, through the ledger's own function, as its refund service will."""
    return ledger_record(order=order, kind=LedgerEntry.Kind.REFUNDED, amount_cents=cents,
                         gateway_id=f"sim_re_{order.pk}_{cents}", note="Partial refund")


def payout_of(order):
    return Payout.objects.get(order=order)


@pytest.fixture
def listing():
    """$100.00 per tooth, Express 24 h +$15.00: one tooth is 10000 (fee 900, net 9100)."""
    return make_published(price_cents=10000, options=[("Express 24 h", 1500)])


@pytest.fixture
def history(listing):
    """A designer's month of March 2026, with every kind of money:

    o1 10000 completed Mar 2, transferred Mar 11, paid Mar 14         fee  900, net  9100
    o2 2 teeth + Express = 21500, completed Mar 14, transferred Mar 24 fee 1935, net 19565
    o3 10000 completed Mar 24, clearing until Mar 31                  fee  900, net  9100
    o4 10000 accepted (in escrow)                                             net  9100
    o5 3 teeth = 30000 accepted (in escrow)                                   net 27300
    o6 requested only, o7 declined: no money taken."""
    freelancer = listing.owner
    connect_payouts(freelancer)
    express = listing.options.get().pk
    with time_machine.travel(MARCH_2, tick=False) as traveller:
        o1 = completed(listing)
        traveller.move_to(MARCH_2 + dt.timedelta(days=9))
        payouts_run()
        traveller.move_to(MARCH_2 + dt.timedelta(days=12))
        o2 = completed(listing, quantity=2, option_ids=[express])
        payouts_run()
        traveller.move_to(MARCH_2 + dt.timedelta(days=22))
        payouts_run()
        o3 = completed(listing)
        o4 = accepted(listing)
        o5 = accepted(listing, quantity=3)
        o6 = make_order(listing=listing)
        o7 = make_order(listing=listing)
        order_decline(order=o7, by=freelancer)
    return freelancer, [o1, o2, o3, o4, o5, o6, o7]


# --- totals ---------------------------------------------------------------------------------------------


def test_history_reaches_the_payout_states_it_is_built_for(history):
    _, (o1, o2, o3, *_) = history

    assert [payout_of(order).status for order in (o1, o2, o3)] == ["paid", "transferred", "clearing"]


def test_summary_matches_hand_computed_figures(history, listing, django_assert_num_queries):
    freelancer, _ = history
    # Money of other people, and of the designer as a client, does not count.
    completed(make_published(price_cents=5000))
    completed(make_published(price_cents=5000), employer=freelancer)

    with django_assert_num_queries(4):
        summary = earnings_summary(freelancer, tz=zoneinfo.ZoneInfo("UTC"))

    assert (summary.escrow_cents, summary.escrow_orders) == (9100 + 27300, 2)
    assert (summary.clearing_cents, summary.clearing_orders) == (9100, 1)
    assert summary.next_clearing == [ClearingDate(day=dt.date(2026, 3, 31), amount_cents=9100, orders=1)]
    assert summary.transferred_cents == 19565
    assert summary.paid_cents == 9100
    assert (summary.due_cents, summary.waiting_cents, summary.failed_cents) == (0, 0, 0)
    assert summary.gross_cents == 10000 + 21500 + 10000
    assert summary.fees_cents == 900 + 1935 + 900
    assert summary.earned_cents == 9100 + 19565 + 9100
    assert summary.completed_orders == 3


def test_cleared_money_without_payout_details_is_shown_as_waiting(listing):
    with time_machine.travel(MARCH_2, tick=False) as traveller:
        completed(listing)
        traveller.move_to(MARCH_2 + dt.timedelta(days=8))
        payouts_run()

    summary = earnings_summary(listing.owner)

    assert (summary.waiting_cents, summary.clearing_cents, summary.transferred_cents) == (9100, 0, 0)


def test_clearing_dates_are_grouped_by_day_in_the_users_time_zone(listing):
    # Completed at 20:00 UTC: clears on Mar 9 at 20:00 UTC, which is Mar 10 in Tokyo.
    with time_machine.travel(dt.datetime(2026, 3, 2, 20, 0, tzinfo=UTC), tick=False) as traveller:
        completed(listing)
        completed(listing)
        traveller.shift(dt.timedelta(days=1))
        completed(listing, quantity=2)

    tokyo = earnings_summary(listing.owner, tz=zoneinfo.ZoneInfo("Asia/Tokyo")).next_clearing
    utc = earnings_summary(listing.owner, tz=zoneinfo.ZoneInfo("UTC")).next_clearing

    assert tokyo == [ClearingDate(dt.date(2026, 3, 10), 18200, 2), ClearingDate(dt.date(2026, 3, 11), 18200, 1)]
    assert [row.day for row in utc] == [dt.date(2026, 3, 9), dt.date(2026, 3, 10)]


# --- months ------------------------------------------------------------------------------------------------


def test_months_have_zeros_filled_and_count_orders_in_the_month_they_completed(listing):
    for moment in (dt.datetime(2025, 6, 20, 12, tzinfo=UTC),  # before the 12 months
                   dt.datetime(2026, 1, 20, 12, tzinfo=UTC),
                   dt.datetime(2026, 3, 5, 12, tzinfo=UTC), dt.datetime(2026, 3, 28, 12, tzinfo=UTC)):
        with time_machine.travel(moment, tick=False):
            completed(listing)
    with time_machine.travel(dt.datetime(2026, 5, 1, 12, tzinfo=UTC), tick=False):
        accepted(listing)  # in escrow: not earned yet

    months = earnings_by_month(listing.owner, now=dt.datetime(2026, 6, 15, tzinfo=UTC), tz=zoneinfo.ZoneInfo("UTC"))

    assert [month.month for month in months] == [dt.date(2025, 7, 1), dt.date(2025, 8, 1), dt.date(2025, 9, 1),
                                                 dt.date(2025, 10, 1), dt.date(2025, 11, 1), dt.date(2025, 12, 1),
                                                 dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1),
                                                 dt.date(2026, 4, 1), dt.date(2026, 5, 1), dt.date(2026, 6, 1)]
    assert {month.month.month: (month.earned_cents, month.orders) for month in months if month.orders} == {
        1: (9100, 1), 3: (18200, 2),
    }
    assert sum(month.earned_cents for month in months) == 27300


def test_month_boundaries_follow_the_time_zone(listing):
    with time_machine.travel(dt.datetime(2026, 3, 31, 20, 0, tzinfo=UTC), tick=False):
        completed(listing)
    now = dt.datetime(2026, 4, 10, tzinfo=UTC)

    utc = earnings_by_month(listing.owner, months=2, now=now, tz=zoneinfo.ZoneInfo("UTC"))
    tokyo = earnings_by_month(listing.owner, months=2, now=now, tz=zoneinfo.ZoneInfo("Asia/Tokyo"))

    assert [(m.month, m.earned_cents) for m in utc] == [(dt.date(2026, 3, 1), 9100), (dt.date(2026, 4, 1), 0)]
    assert [(m.month, m.earned_cents) for m in tokyo] == [(dt.date(2026, 3, 1), 0), (dt.date(2026, 4, 1), 9100)]


def test_a_partial_refund_lowers_what_the_month_earned(listing):
    with time_machine.travel(dt.datetime(2026, 2, 10, 12, tzinfo=UTC), tick=False):
        order = completed(listing)
    Payout.objects.filter(order=order).update(reversed_cents=2100)  # what payout_reversal_record leaves

    months = earnings_by_month(listing.owner, months=1, now=dt.datetime(2026, 2, 20, tzinfo=UTC),
                               tz=zoneinfo.ZoneInfo("UTC"))

    assert months[0].earned_cents == 7000


# --- the chart ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cents", "ceiling"), [(0, 1000), (1, 1000), (1000, 1000), (1001, 2000), (18200, 20000),
                                                (123456, 200000), (500001, 1000000)])
def test_the_chart_scale_is_a_round_amount(cents, ceiling):
    assert nice_ceiling(cents) == ceiling


def test_bar_heights_are_proportional_and_empty_months_are_flat(listing):
    with time_machine.travel(dt.datetime(2026, 1, 20, 12, tzinfo=UTC), tick=False):
        completed(listing)
    with time_machine.travel(dt.datetime(2026, 3, 5, 12, tzinfo=UTC), tick=False):
        completed(listing)
        completed(listing)
    months = earnings_by_month(listing.owner, now=dt.datetime(2026, 6, 15, tzinfo=UTC), tz=zoneinfo.ZoneInfo("UTC"))

    chart = earnings_chart(months)

    heights = {bar.month_label: bar.height for bar in chart.bars}
    assert len(chart.bars) == 12
    assert heights["Mar"] == (18200 * PLOT_HEIGHT * 2 + 20000) // 40000  # scale $200
    assert heights["Jan"] * 2 in (heights["Mar"] - 1, heights["Mar"], heights["Mar"] + 1)
    assert [heights[m] for m in ("Jul", "Feb", "Apr", "Jun")] == [0, 0, 0, 0]
    assert all(bar.y + bar.height == chart.baseline for bar in chart.bars)
    assert [line.label for line in chart.grid] == ["$0", "$50", "$100", "$150", "$200"]
    assert chart.bars[8].description == "March 2026: $182.00 from 2 orders"


# --- the orders table -------------------------------------------------------------------------------------


def test_orders_table_lists_orders_that_took_money_with_amounts_and_payout_state(history, django_assert_num_queries):
    freelancer, (o1, o2, o3, o4, o5, *_never_charged) = history

    with django_assert_num_queries(1):
        rows = {order.pk: (order.gross, order.fee, order.net, payout_state_label(order))
                for order in earnings_orders(freelancer)}

    assert rows == {
        o1.pk: (10000, 900, 9100, "Paid out"),
        o2.pk: (21500, 1935, 19565, "Transferred"),
        o3.pk: (10000, 900, 9100, "Clearing"),
        o4.pk: (10000, 900, 9100, "In escrow"),
        o5.pk: (30000, 2700, 27300, "In escrow"),
    }


def test_earnings_page_shows_totals_chart_and_orders(client, history):
    freelancer, (_, o2, *_) = history
    client.force_login(freelancer)

    response = client.get(reverse("payouts:index"))

    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="total-escrow">$364.00<' in body
    assert 'data-testid="total-transferred">$195.65<' in body
    assert 'data-testid="total-paid">$91.00<' in body
    assert 'data-testid="total-fees">$37.35<' in body
    assert "$91.00 on 31 Mar 2026" in body
    assert 'role="img"' in body and "<title id=\"earnings-chart-title\">" in body
    assert f"#{o2.pk} {o2.title}" in body
    assert reverse("payouts:earnings_csv") in body and reverse("payouts:spending") in body
    assert 'data-testid="payout-preferences"' in body
    assert reverse("payouts:other_countries") not in body  # already connected: the country is chosen
    assert " style=" not in body and "<style" not in body
    for chunk in body.split("<script")[1:]:
        assert chunk.lstrip().startswith("src="), "inline <script> found"


def test_a_designer_without_payout_details_is_pointed_to_the_help_page(client):
    user = make_user()
    client.force_login(user)

    body = client.get(reverse("payouts:index")).content.decode()

    assert reverse("payouts:other_countries") in body
    assert "No paid orders yet." in body


def test_earnings_page_needs_a_login(client):
    response = client.get(reverse("payouts:index"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def _queries_for_index(client, user) -> int:
    cache.clear()  # every count from a cold cache (the navigation badge is kept there)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("payouts:index")).status_code == 200
    return len(queries)


def test_earnings_page_runs_the_same_few_queries_however_many_orders(client, listing, django_assert_max_num_queries):
    freelancer = listing.owner
    connect_payouts(freelancer)
    client.force_login(freelancer)
    with time_machine.travel(MARCH_2, tick=False):
        completed(listing)
        accepted(listing)
    few = _queries_for_index(client, freelancer)
    with time_machine.travel(MARCH_2 + dt.timedelta(days=40), tick=False):
        for _ in range(3):
            completed(listing)
            accepted(listing, quantity=2)

    assert _queries_for_index(client, freelancer) == few, few
    with django_assert_max_num_queries(15):
        client.get(reverse("payouts:index"))


def test_orders_table_is_paginated(client, listing, monkeypatch):
    monkeypatch.setattr("payouts.earnings.ORDERS_PER_PAGE", 2)
    for _ in range(3):
        accepted(listing)
    client.force_login(listing.owner)

    first = client.get(reverse("payouts:index")).content.decode()
    second = client.get(reverse("payouts:index"), {"page": 2}).content.decode()

    assert "Page 1 of 2" in first and "Page 2 of 2" in second


@pytest.mark.parametrize("number", ["abc", "0", "-1", "999", ""])
def test_earnings_page_numbers_out_of_range_or_not_numbers_show_a_page(client, listing, monkeypatch, number):
    monkeypatch.setattr("payouts.earnings.ORDERS_PER_PAGE", 1)
    for _ in range(2):
        accepted(listing)
    client.force_login(listing.owner)

    response = client.get(reverse("payouts:index"), {"page": number})

    assert response.status_code == 200 and len(response.context["orders"]) == 1


def test_the_csv_holds_every_order_however_the_table_is_paged(client, listing, monkeypatch):
    monkeypatch.setattr("payouts.earnings.ORDERS_PER_PAGE", 2)
    orders = [accepted(listing) for _ in range(5)]
    client.force_login(listing.owner)

    rows = _csv(client.get(reverse("payouts:earnings_csv")))

    assert sorted(int(row[0]) for row in rows[1:]) == sorted(order.pk for order in orders)


# --- CSV ------------------------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_has_one_row_per_order_with_decimal_amounts_and_dates(client, history):
    freelancer, (o1, o2, o3, o4, *_) = history
    client.force_login(freelancer)

    with time_machine.travel(dt.datetime(2026, 4, 1, 9, tzinfo=UTC), tick=False):
        response = client.get(reverse("payouts:earnings_csv"))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="cadcam-earnings-2026-04-01.csv"'
    rows = _csv(response)
    assert rows[0] == ["Order", "Completed", "Title", "Client", "Gross", "Fee", "Net", "Payout status",
                       "Transferred", "Paid out"]
    by_id = {row[0]: row for row in rows[1:]}
    assert len(by_id) == 5
    assert by_id[str(o1.pk)] == [str(o1.pk), "2026-03-02", o1.title, o1.employer.display_name, "100.00", "9.00",
                                 "91.00", "Paid out", "2026-03-11", "2026-03-14"]
    assert by_id[str(o2.pk)][4:] == ["215.00", "19.35", "195.65", "Transferred", "2026-03-24", ""]
    assert by_id[str(o3.pk)][4:] == ["100.00", "9.00", "91.00", "Clearing", "", ""]
    assert by_id[str(o4.pk)][1] == "" and by_id[str(o4.pk)][7] == "In escrow"


def test_csv_dates_are_in_the_users_time_zone(client, listing):
    with time_machine.travel(dt.datetime(2026, 3, 2, 20, 0, tzinfo=UTC), tick=False):
        order = completed(listing)
    Profile.objects.filter(user=listing.owner).update(time_zone="Asia/Tokyo")
    client.force_login(listing.owner)

    rows = _csv(client.get(reverse("payouts:earnings_csv")))

    assert rows[1][:2] == [str(order.pk), "2026-03-03"]


def test_csv_cells_that_a_spreadsheet_would_run_are_defused(client, listing):
    client_user = make_user()
    Profile.objects.filter(user=client_user).update(display_name='=HYPERLINK("http://evil.test","x")')
    accepted(listing, employer=client_user)
    client.force_login(listing.owner)

    rows = _csv(client.get(reverse("payouts:earnings_csv")))

    assert rows[1][3] == "'=HYPERLINK(\"http://evil.test\",\"x\")"


@pytest.mark.parametrize(("text", "cell"), [("=1+2", "'=1+2"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
                                            ("\tx", "'\tx"), ("Crown = 2", "Crown = 2"), ("", "")])
def test_safe_cell(text, cell):
    assert safe_cell(text) == cell


@pytest.mark.parametrize(("cents", "text"), [(0, "0.00"), (5, "0.05"), (12345, "123.45"), (100000000, "1000000.00"),
                                             (-5, "-0.05")])
def test_decimal_amount(cents, text):
    assert decimal_amount(cents) == text


def test_csv_needs_a_login(client):
    assert client.get(reverse("payouts:earnings_csv")).status_code == 302


# --- spending and receipts --------------------------------------------------------------------------------


@pytest.fixture
def purchases(listing):
    """An employer's orders: completed 10000, accepted 21500, accepted 10000 with 2000 refunded,
    one only authorized and one declined (never charged)."""
    employer = make_user()
    express = listing.options.get().pk
    done = completed(listing, employer=employer)
    big = accepted(listing, employer=employer, quantity=2, option_ids=[express])
    refunded = accepted(listing, employer=employer)
    refund_recorded(refunded, 2000)
    waiting = make_order(listing=listing, employer=employer)
    declined = make_order(listing=listing, employer=employer)
    order_decline(order=declined, by=listing.owner)
    return employer, [done, big, refunded, waiting, declined]


def test_spending_totals_and_rows(purchases, django_assert_num_queries):
    employer, (done, big, refunded, *_never_charged) = purchases
    accepted(make_published(price_cents=5000))  # someone else's spending

    with django_assert_num_queries(2):
        orders, totals = spending_of(employer)
        rows = {order.pk: (order.paid, order.refunded) for order in orders}

    assert rows == {done.pk: (10000, 0), big.pk: (21500, 0), refunded.pk: (10000, 2000)}
    assert (totals.paid_cents, totals.refunded_cents, totals.net_cents, totals.orders) == (41500, 2000, 39500, 3)


def test_spending_page_links_a_receipt_per_order(client, purchases):
    employer, (done, big, refunded, waiting, declined) = purchases
    client.force_login(employer)

    body = client.get(reverse("payouts:spending")).content.decode()

    assert 'data-testid="spending-net">$395.00<' in body
    for order in (done, big, refunded):
        assert reverse("payouts:receipt", args=[order.pk]) in body
    for order in (waiting, declined):
        assert reverse("payouts:receipt", args=[order.pk]) not in body


@pytest.mark.parametrize(("who", "status"), [("employer", 200), ("freelancer", 404), ("staff", 200),
                                             ("other", 404), ("anonymous", 302)])
def test_receipt_visibility(client, listing, who, status):
    order = accepted(listing)
    viewer = {"employer": order.employer, "freelancer": order.freelancer, "staff": make_user(is_staff=True),
              "other": make_user(), "anonymous": None}[who]
    if viewer:
        client.force_login(viewer)

    response = client.get(reverse("payouts:receipt", args=[order.pk]))

    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith(reverse("account_login"))


def test_no_receipt_before_the_card_is_charged(client, listing):
    order = make_order(listing=listing)
    client.force_login(order.employer)

    assert client.get(reverse("payouts:receipt", args=[order.pk])).status_code == 404
    assert client.get(reverse("payouts:receipt", args=[999999])).status_code == 404


def test_receipt_shows_items_total_refunds_and_a_short_reference(client, listing):
    express = listing.options.get().pk
    with time_machine.travel(dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False) as traveller:
        order = make_order(listing=listing, quantity=2, option_ids=[express])
        traveller.shift(dt.timedelta(hours=5))
        order = order_accept(order=order, by=order.freelancer)
        traveller.shift(dt.timedelta(days=3))
        refund_recorded(order, 1500)
    charge_id = LedgerEntry.objects.get(order=order, kind="captured").gateway_id
    client.force_login(order.employer)

    body = client.get(reverse("payouts:receipt", args=[order.pk])).content.decode()

    assert "CadCam Masters" in body
    assert f'data-testid="receipt-number">CCM-2026-{order.pk:06d}<' in body
    assert "2 March 2026, 10:00" in body and "2 March 2026, 15:00" in body
    assert "$100.00" in body and "$200.00" in body and "Add-on: Express 24 h" in body
    assert 'data-testid="receipt-total">$215.00<' in body
    assert 'data-testid="receipt-refund">\N{MINUS SIGN}$15.00<' in body and "Refunded on 5 March 2026" in body
    assert 'data-testid="receipt-net">$200.00<' in body
    assert f'data-testid="receipt-reference">…{short_reference(charge_id)}<' in body
    assert order.payment_id not in body
    assert order.freelancer.display_name in body
    assert "data-print" in body and "js/print.js" in body
    assert " style=" not in body


@pytest.mark.parametrize(("gateway_id", "shown"), [("ch_3PzXq2LkdIqYnA1b0x9aB2cD", "9aB2cD"), ("sim_ch_42", "42"),
                                                   ("pi_123", "123")])
def test_receipts_show_only_the_end_of_the_payment_reference(gateway_id, shown):
    assert short_reference(gateway_id) == shown


def test_order_page_links_the_receipt_for_the_client_once_charged(client, listing):
    order = make_order(listing=listing)
    client.force_login(order.employer)
    receipt_url = reverse("payouts:receipt", args=[order.pk])

    assert receipt_url not in client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    order_accept(order=order, by=order.freelancer)
    assert receipt_url in client.get(reverse("orders:detail", args=[order.pk])).content.decode()


def test_dashboard_links_earnings_and_spending(client):
    client.force_login(make_user())

    body = client.get(reverse("dashboard")).content.decode()

    assert reverse("payouts:index") in body and reverse("payouts:spending") in body


# --- help page ----------------------------------------------------------------------------------------------


def test_help_page_for_other_countries_is_public_and_numbered(client):
    response = client.get(reverse("payouts:other_countries"))

    body = response.content.decode()
    assert response.status_code == 200
    assert '<ol class="help-steps"' in body and body.count('<h2 class="h6 fw-semibold mb-1">') == 6
    assert "Wise" in body and "Payoneer" in body
    assert "the country the IBAN belongs to, shown by its first two letters" in body
    assert "Germany" in body  # the list of countries payouts reach
    assert reverse("payouts:index") in body

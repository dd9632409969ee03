"""Earnings (freelancer), spending and receipts (employer), and the help page for banks in
countries payouts cannot reach. Reads come from payouts/selectors.py; nothing here writes."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime, tzinfo

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from orders.models import Order
from payouts.charts import earnings_chart
from payouts.models import PayoutCountry
from payouts.selectors import (
    earnings_by_month,
    earnings_orders,
    earnings_summary,
    payout_state_label,
    receipt_for,
    spending_of,
)
from payouts.views import preferences_context

ORDERS_PER_PAGE = 50
CSV_HEADER = ["Order", "Completed", "Title", "Client", "Gross", "Fee", "Net", "Payout status", "Transferred",
              "Paid out"]
# A spreadsheet treats a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@login_required
def index(request):
    months = earnings_by_month(request.user)
    page = Paginator(earnings_orders(request.user), ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        **preferences_context(request),
        "summary": earnings_summary(request.user),
        "months": months,
        "chart": earnings_chart(months),
        "page": page,
        "orders": [(order, payout_state_label(order)) for order in page.object_list],
    }
    return render(request, "payouts/index.html", context)


def decimal_amount(cents: int) -> str:
    """Cents as a plain decimal string for spreadsheets: 12345 -> "123.45", -5 -> "-0.05"."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole}.{rest:02d}"


def safe_cell(text: str) -> str:
    """Text a spreadsheet will show as text: a leading quote defuses formulas (CSV injection)."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _date(moment: datetime | None, tz: tzinfo) -> str:
    return timezone.localtime(moment, tz).date().isoformat() if moment else ""


class _Echo:
    """A file-like object whose write() hands the line back, for csv.writer over a stream."""

    def write(self, value: str) -> str:
        return value


def earnings_rows(user, tz: tzinfo) -> Iterator[list[str]]:
    yield CSV_HEADER
    for order in earnings_orders(user).iterator(chunk_size=500):
        payout = getattr(order, "payout", None)
        yield [
            str(order.pk), _date(order.completed_at, tz), safe_cell(order.title),
            safe_cell(order.employer.display_name), decimal_amount(order.gross), decimal_amount(order.fee),
            decimal_amount(order.net), safe_cell(payout_state_label(order)),
            _date(payout and payout.transferred_at, tz), _date(payout and payout.paid_at, tz),
        ]


@login_required
def earnings_csv(request):
    # The rows are written after the view returns, when the middleware has already reset the
    # time zone: take the user's now.
    tz = timezone.get_current_timezone()
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in earnings_rows(request.user, tz)),
                                     content_type="text/csv; charset=utf-8")
    today = timezone.localdate(timezone=tz).isoformat()
    response["Content-Disposition"] = f'attachment; filename="cadcam-earnings-{today}.csv"'
    return response


@login_required
def spending(request):
    orders, totals = spending_of(request.user)
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "payouts/spending.html", {"page": page, "totals": totals})


@login_required
def receipt(request, pk: int):
    receipt = receipt_for(request.user, pk)
    return render(request, "payouts/receipt.html", {
        "receipt": receipt, "order": receipt.order, "options": list(receipt.order.options.all()),
        "is_refunded_in_full": receipt.order.status == Order.Status.REFUNDED,
    })


def other_countries(request):
    countries = sorted((row.country.name for row in PayoutCountry.objects.filter(enabled=True)), key=str)
    return render(request, "payouts/other_countries.html", {"payout_countries": countries})

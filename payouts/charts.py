"""The monthly earnings chart as bar geometry, drawn by templates/payouts/_chart.svg.html.

Everything is integer arithmetic on cents and SVG user units: no floats, no JavaScript, and
no style attributes (the CSP forbids them); the template only places rectangles and text."""

from __future__ import annotations

from dataclasses import dataclass

from cadcam.money import format_cents
from payouts.selectors import MonthEarnings

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 12, 28  # room for the amount axis and the month labels
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
GRID_LINES = 4
BAR_GAP = 8


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    label_x: int
    month_label: str
    description: str  # e.g. "March 2026: $1,234.50 from 3 orders"


@dataclass(frozen=True)
class GridLine:
    y: int
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    baseline: int
    bars: list[Bar]
    grid: list[GridLine]
    total_cents: int

    @property
    def is_empty(self) -> bool:
        return self.total_cents == 0


def nice_ceiling(cents: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten (in whole dollars) that is at least `cents`
    and splits into GRID_LINES round steps: 0 -> $10, $1,234.56 -> $2,000."""
    step = 1000  # $10: the smallest scale drawn
    while True:
        for factor in (1, 2, 5):
            if step * factor >= cents:
                return step * factor
        step *= 10


def _axis_label(cents: int) -> str:
    label = format_cents(cents)
    return label[:-3] if label.endswith(".00") else label


def earnings_chart(months: list[MonthEarnings]) -> Chart:
    top = nice_ceiling(max((month.earned_cents for month in months), default=0))
    slot = PLOT_WIDTH // max(len(months), 1)
    bar_width = max(slot - BAR_GAP, 1)
    baseline = TOP + PLOT_HEIGHT
    bars = []
    for index, month in enumerate(months):
        # Half-up rounding to the nearest unit; a month with any earnings shows at least a sliver.
        height = (month.earned_cents * PLOT_HEIGHT * 2 + top) // (top * 2)
        if month.earned_cents and not height:
            height = 1
        x = LEFT + index * slot + BAR_GAP // 2
        orders = f"{month.orders} order{'s' if month.orders != 1 else ''}"
        bars.append(Bar(
            x=x, y=baseline - height, width=bar_width, height=height, label_x=x + bar_width // 2,
            month_label=month.month.strftime("%b"),
            description=f"{month.month:%B %Y}: {format_cents(month.earned_cents)} from {orders}",
        ))
    grid = [
        GridLine(y=baseline - PLOT_HEIGHT * step // GRID_LINES, label=_axis_label(top * step // GRID_LINES))
        for step in range(GRID_LINES + 1)
    ]
    return Chart(width=WIDTH, height=HEIGHT, left=LEFT, right=WIDTH - RIGHT, baseline=baseline, bars=bars,
                 grid=grid, total_cents=sum(month.earned_cents for month in months))

"""Money is integer cents everywhere; this module converts at the edges (forms, display)."""

from __future__ import annotations

from decimal import Decimal

from django import forms

CURRENCY_SYMBOLS = {"USD": "$"}


def format_cents(cents: int, currency: str = "USD") -> str:
    """1234567 -> "$12,345.67"."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{CURRENCY_SYMBOLS.get(currency, currency + ' ')}{whole:,}.{rest:02d}"


def cents_from_amount(amount: Decimal) -> int:
    """A decimal amount with at most two places (as validated by the form) in cents."""
    return int(amount * 100)


class MoneyField(forms.DecimalField):
    """A dollar amount typed by a person ("38.78"), cleaned to integer cents (3878)."""

    def __init__(self, *, min_cents: int | None = None, max_cents: int | None = None, **kwargs):
        kwargs.setdefault("max_digits", 9)
        kwargs.setdefault("decimal_places", 2)
        if min_cents is not None:
            kwargs["min_value"] = Decimal(min_cents) / 100
        if max_cents is not None:
            kwargs["max_value"] = Decimal(max_cents) / 100
        kwargs.setdefault("widget", forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, int):
            return f"{Decimal(value) / 100:.2f}"
        return value

    def clean(self, value):
        amount = super().clean(value)
        return None if amount is None else cents_from_amount(amount)

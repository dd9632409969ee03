"""The platform fee, in one place: 9% of the order total, rounded half-up to the cent, at
least $3.49. The employer pays the total; the freelancer receives the total minus the fee."""

from decimal import ROUND_HALF_UP, Decimal

FEE_RATE = Decimal("0.09")
MINIMUM_FEE_CENTS = 349


def platform_fee_cents(total_cents: int) -> int:
    """9% of total_cents, half-up (50.50 -> 4.545 -> 4.55, not banker's 4.54), at least 349."""
    if total_cents < 0:
        raise ValueError("An order total cannot be negative.")
    percent = (Decimal(total_cents) * FEE_RATE).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return min(total_cents, max(int(percent), MINIMUM_FEE_CENTS))


def freelancer_net_cents(total_cents: int) -> int:
    return total_cents - platform_fee_cents(total_cents)

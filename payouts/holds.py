"""Holds: reasons, owned by apps above payouts, to keep a designer's money with the platform.

An app registers a check with `register_hold_check(name, check)` from its AppConfig.ready();
`check(order)` answers True while the order's payout must wait (disputes registers "an
unhandled chargeback"). A payout opened while a check holds it starts `on_hold`; the app
that held it releases it through `payouts.services.payout_release`."""

from __future__ import annotations

from collections.abc import Callable

from orders.models import Order

HoldCheck = Callable[[Order], bool]

HOLD_CHECKS: dict[str, HoldCheck] = {}


def register_hold_check(name: str, check: HoldCheck) -> None:
    HOLD_CHECKS[name] = check


def order_held(order: Order) -> bool:
    """Whether any registered hold keeps this order's payout with the platform now."""
    return any(check(order) for check in HOLD_CHECKS.values())

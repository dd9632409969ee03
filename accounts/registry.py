"""What accounts needs from the apps above it, filled at start-up.

accounts sits low in the layers (docs/architecture.md), so it cannot import the apps that
build on users. Those apps register here from their AppConfig.ready():

- deletion guards: `guard(user)` returns why the account cannot be deleted now, or "".
  (orders: "You have orders in progress ...").
- export sections: `section(user)` returns the JSON-ready data stored under `name` in the
  user's data export (orders, listings, payouts, messages, ...).
- verified hooks: `hook(user)` runs inside the approval's transaction when staff verify a
  user's identity (listings puts the listings staff already approved live).

Each registry is a plain dict keyed by name, so registering twice replaces, never doubles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accounts.models import User

DELETION_GUARDS: dict[str, Callable[[User], str]] = {}
EXPORT_SECTIONS: dict[str, Callable[[User], Any]] = {}
VERIFIED_HOOKS: dict[str, Callable[[User], None]] = {}


def register_deletion_guard(name: str, guard: Callable[[User], str]) -> None:
    DELETION_GUARDS[name] = guard


def register_export_section(name: str, section: Callable[[User], Any]) -> None:
    EXPORT_SECTIONS[name] = section


def register_verified_hook(name: str, hook: Callable[[User], None]) -> None:
    VERIFIED_HOOKS[name] = hook


def deletion_refusals(user: User) -> list[str]:
    """Every registered reason the user cannot delete their account now."""
    return [reason for guard in DELETION_GUARDS.values() if (reason := guard(user))]

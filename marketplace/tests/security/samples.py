"""One concrete request for every URL pattern of the inventory: a real path (private URLs
with the access matrix's first object, admin URLs with an existing row), who would make it,
and a POST body that would change something if the request were accepted. The CSRF sweep,
the NUL-byte sweep and the cache checks use them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps

from accounts.tests.helpers import PASSWORD
from marketplace.tests.security.inventory import ADMIN, Route, all_routes
from marketplace.tests.security.matrix import CASES, Cell, listing_data, message_data
from marketplace.tests.security.world import EMPLOYER, STAFF_MFA, World


@dataclass(frozen=True)
class Sample:
    route: Route
    path: str
    actor: str
    data: Callable[[], dict]


def _nothing() -> dict:
    return {}


# What the signed-in client would send to the pages that act on its own data.
OWN_DATA_POSTS: dict[str, Callable[[], dict]] = {
    "accounts:profile": lambda: {"display_name": "Changed by a forged form", "account_type": "individual",
                                 "time_zone": "UTC"},
    "accounts:delete": lambda: {"password": PASSWORD},
    "listings:new": listing_data,
    "messaging:preferences": lambda: {"email_unread": "on"},
    "messaging:support": message_data,
    "messaging:write_to": message_data,
    "payouts:connect": lambda: {"country": "DE"},
    "account_logout": _nothing,
    "account_email": lambda: {"email": "forged@example.com", "action_add": ""},
    "account_change_password": lambda: {"oldpassword": PASSWORD, "password1": "Forged-pass-phrase-99",
                                        "password2": "Forged-pass-phrase-99"},
    "mfa_deactivate_totp": _nothing,
    "mfa_generate_recovery_codes": _nothing,
}


def _admin_value(route: Route, param: str) -> str:
    """The id of an existing row of the model the admin URL is about ("1" when none)."""
    parts = route.route.split("/")
    if param in ("object_id", "id", "pk") and len(parts) > 2:
        try:
            model = apps.get_model(parts[1], parts[2])
        except (LookupError, ValueError):
            return "1"
        first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        return str(first) if first is not None else "1"
    return {"app_label": "orders", "url": "nothing/", "content_type_id": "1"}.get(param, "1")


def param_values(route: Route, world: World) -> dict[str, str]:
    """Valid values for a route's parameters (those of people and objects in the world)."""
    if route.kind == ADMIN:
        return {name: _admin_value(route, name) for name, _ in route.params}
    known = {"username": world.freelancer.username, "key": "abc", "uidb36": "1", "path": "nothing.txt",
             "account_id": "sim_acct_1"}
    return {name: known.get(name, "1") for name, _ in route.params}


def samples(world: World) -> list[Sample]:
    first_cells: dict[str, Cell] = {name: build(world)[0] for name, build in CASES.items()}
    found = []
    for route in all_routes():
        cell = first_cells.get(route.name)
        if cell is not None:
            found.append(Sample(route, cell.path, cell.poster, cell.data))
        else:
            actor = STAFF_MFA if route.kind == ADMIN else EMPLOYER
            data = (lambda: {"post": "yes", "action": "delete_selected"}) if route.kind == ADMIN else (
                OWN_DATA_POSTS.get(route.key, _nothing))
            found.append(Sample(route, route.path(param_values(route, world)), actor, data))
    return found

"""A NUL byte (%00) anywhere in a URL never makes a 500: swept into every path parameter of
every URL pattern of the inventory, and into the query string of every page (the search
boxes first: `?q=%00`). PostgreSQL refuses NUL in text, so one that reached a query would
be a server error."""

import pytest
from django.urls import reverse

from marketplace.tests.security.inventory import ADMIN, all_routes
from marketplace.tests.security.report import record
from marketplace.tests.security.samples import param_values, samples
from marketplace.tests.security.world import ANONYMOUS, EMPLOYER, STAFF_MFA

pytestmark = pytest.mark.django_db

NUL = "%00"
# Query parameters the views read (search, paging, filters, htmx polling, previews, redirects, admin lists).
QUERY = "&".join(f"{key}=a{NUL}b" for key in (
    "page", "status", "show", "after", "inline", "next", "sort", "category", "software", "price_min", "turnaround",
    "min_rating", "o", "p", "e", "_changelist_filters",
))
SEARCH_PAGES = [("listings:browse", ANONYMOUS), ("listings:browse", EMPLOYER), ("messaging:inbox", EMPLOYER),
                ("messaging:staff_inbox", STAFF_MFA), ("admin:orders_order_changelist", STAFF_MFA),
                ("admin:accounts_user_changelist", STAFF_MFA)]


def _server_errors(client, paths) -> list[str]:
    found = []
    for path in paths:
        response = client.get(path)
        if response.status_code >= 500:
            found.append(f"GET {path}: {response.status_code}")
    return found


def test_a_nul_byte_in_any_path_parameter_is_never_a_server_error(world, staff_need_mfa):
    by_role: dict[str, list[str]] = {ANONYMOUS: [], EMPLOYER: [], STAFF_MFA: []}
    for route in all_routes():
        for name, _ in route.params:
            for value in (NUL, f"1{NUL}", f"x{NUL}y"):
                path = route.path({**param_values(route, world), name: value})
                roles = (STAFF_MFA,) if route.kind == ADMIN else (ANONYMOUS, EMPLOYER)
                for role in roles:
                    by_role[role].append(path)
    problems = []
    for role, paths in by_role.items():
        problems += [f"as {role}: {problem}" for problem in _server_errors(world.client(role), paths)]
    record("NUL-byte requests (path parameters)", sum(len(paths) for paths in by_role.values()))

    assert not problems, "\n".join(problems)


def test_a_nul_byte_in_the_query_string_is_never_a_server_error(world, staff_need_mfa):
    problems, count = [], 0
    for sample in samples(world):
        client = world.client(sample.actor)
        paths = [f"{sample.path}?q={NUL}"]
        if sample.route.kind != ADMIN or sample.route.key.endswith("_changelist"):
            paths += [f"{sample.path}?q=crown{NUL}&{QUERY}", f"{sample.path}?{NUL}=1"]
        count += len(paths)
        problems += [f"as {sample.actor}: {problem}" for problem in _server_errors(client, paths)]
    record("NUL-byte requests (query strings)", count)

    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("name", "role"), SEARCH_PAGES)
@pytest.mark.parametrize("query", [NUL, f"crown{NUL}", f"{NUL}{NUL}"])
def test_searching_for_a_nul_byte_is_refused_politely(world, staff_need_mfa, name, role, query):
    response = world.client(role).get(f"{reverse(name)}?q={query}")
    record("NUL-byte requests (search boxes)", 1)

    assert response.status_code in (200, 400, 404)

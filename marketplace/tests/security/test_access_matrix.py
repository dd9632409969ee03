"""The access matrix: every private object kind of the URL inventory x every role that is not
entitled to it (anonymous, a stranger, the other party where the object is one party's only,
staff whose session did not complete the second factor), GET and POST on every URL that takes
the object: refused (404/403, or sign-in for anonymous) and nothing changed in the database."""

import pytest

from marketplace.tests.security.inventory import PRIVATE, STAFF_ONLY, all_routes, private_kinds, routes_of
from marketplace.tests.security.matrix import CASES, run_cell
from marketplace.tests.security.report import record
from marketplace.tests.security.world import DbWatcher

pytestmark = pytest.mark.django_db

KINDS = [*private_kinds(), STAFF_ONLY]


def names_of(kind: str) -> list[str]:
    prefix = STAFF_ONLY if kind == STAFF_ONLY else PRIVATE + kind
    return sorted({route.name for route in routes_of(prefix)})


def test_every_private_and_staff_url_has_an_access_case():
    names = {name for kind in KINDS for name in names_of(kind)}

    assert names and all_routes()
    assert not names - CASES.keys(), f"private URLs without an access-matrix case: {sorted(names - CASES.keys())}"
    assert not CASES.keys() - names, f"cases for URLs that are not private or gone: {sorted(CASES.keys() - names)}"


@pytest.mark.parametrize("kind", KINDS)
def test_non_entitled_roles_are_refused_and_change_nothing(kind, world, staff_need_mfa):
    missing = [name for name in names_of(kind) if name not in CASES]
    assert not missing, f"{kind}: private URLs without an access-matrix case: {missing}"
    cells = [cell for name in names_of(kind) for cell in CASES[name](world)]
    total, problems = 0, []
    watcher = DbWatcher()
    for cell in cells:
        made, found = run_cell(world, cell, watcher)
        total += made
        problems += found
    record("access-matrix requests", total)
    record("access-matrix cells (URL x object)", len(cells))

    assert not problems, f"{len(problems)} of {total} requests on {kind} went wrong:\n" + "\n".join(problems)

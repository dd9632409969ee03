"""Staff step-up: with ADMIN_REQUIRES_MFA (production's default), a staff account whose
session did not complete the second factor is a normal user everywhere (404 on other
people's orders, files, ID documents, dispute threads), and is sent to set up or enter its
authenticator app by the support inbox and the admin. A session that completed it keeps the
staff powers. One definition decides: cadcam.staff.acting_as_staff(user)."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.helpers import make_user
from cadcam.staff import acting_as_staff, enrolment_token
from marketplace.tests.security.inventory import ADMIN, routes_of
from marketplace.tests.security.matrix import ENTER_NAMES, SET_UP_NAMES, paths_of, step_up_paths
from marketplace.tests.security.report import record
from marketplace.tests.security.samples import param_values
from marketplace.tests.security.world import STAFF_MFA, STAFF_PLAIN, STRANGER, DbWatcher, World, totp_authenticator

pytestmark = pytest.mark.django_db



def staff_pages(w: World) -> dict[str, str]:
    """Pages only staff powers open (someone else's things, the support team's pages)."""
    order = w.order_delivered
    thread = w.dispute_thread
    return {
        "someone's order": reverse("orders:detail", args=[order.pk]),
        "someone's case file": reverse("orders:download", args=[order.pk, w.order_file(order, "stl").pk]),
        "someone's receipt": reverse("payouts:receipt", args=[w.order_completed.pk]),
        "a dispute thread": reverse("messaging:conversation", args=[thread.pk]),
        "a dispute thread's file": reverse("messaging:download", args=[thread.pk, w.attachment(thread, "stl").pk]),
        "someone's support request": reverse("messaging:support_detail", args=[w.support_request.pk]),
        "someone's draft listing": w.draft_listing.get_absolute_url(),
    }


def test_staff_without_the_second_factor_are_normal_users_on_other_peoples_things(world, staff_need_mfa):
    client = world.client(STAFF_PLAIN)
    pages = {**staff_pages(world),
             "someone's ID document": reverse("accounts:verification_document", args=[world.id_document.pk])}

    answers = {label: client.get(path).status_code for label, path in pages.items()}
    record("staff step-up checks", len(answers))

    assert answers == dict.fromkeys(pages, 404)


def test_staff_with_the_second_factor_keep_their_powers(world, staff_need_mfa):
    client = world.client(STAFF_MFA)
    pages = {**staff_pages(world), "the support inbox": reverse("messaging:staff_inbox"),
             "the admin": reverse("admin:index"),
             "a verification request in the admin": reverse("admin:accounts_verificationrequest_change",
                                                            args=[world.id_document.pk]),
             "an ID document in the admin": reverse("admin:accounts_verificationrequest_document",
                                                    args=[world.id_document.pk])}

    answers = {label: client.get(path).status_code for label, path in pages.items()}
    record("staff step-up checks", len(answers))

    assert answers == dict.fromkeys(pages, 200)


@pytest.mark.parametrize("has_authenticator", [False, True], ids=["no authenticator yet", "authenticator set up"])
def test_staff_pages_send_staff_without_the_second_factor_to_set_it_up_or_enter_it(world, staff_need_mfa,
                                                                                   has_authenticator):
    if has_authenticator:
        totp_authenticator(world.staff_plain)
    client = world.client(STAFF_PLAIN)
    pages = {
        "support inbox": reverse("messaging:staff_inbox"),
        "admin": reverse("admin:index"),
        "admin order list": reverse("admin:orders_order_changelist"),
        "admin verification request": reverse("admin:accounts_verificationrequest_change",
                                              args=[world.id_document.pk]),
        "admin ID document": reverse("admin:accounts_verificationrequest_document", args=[world.id_document.pk]),
    }

    answers = {label: client.get(path) for label, path in pages.items()}
    record("staff step-up checks", len(answers))

    expected = paths_of(ENTER_NAMES if has_authenticator else SET_UP_NAMES)
    wrong = {label: (r.status_code, r.get("Location", "")) for label, r in answers.items()
             if r.status_code != 302 or not r["Location"].startswith(expected)}
    assert not wrong, f"expected a redirect to {expected}: {wrong}"


def test_the_support_inbox_is_not_shown_to_staff_without_the_second_factor(world, staff_need_mfa):
    world.support_request  # noqa: B018 - a request waits in the inbox
    response = world.client(STAFF_PLAIN).get(reverse("messaging:staff_inbox"), follow=True)

    assert "My payout is late" not in response.content.decode()


def test_staff_actions_by_staff_without_the_second_factor_change_nothing(world, staff_need_mfa):
    support = world.support_request
    client = world.client(STAFF_PLAIN)

    response = client.post(reverse("messaging:staff_act", args=[support.pk, "close"]))

    support.refresh_from_db()
    assert support.status == support.Status.OPEN
    assert response.status_code in (302, 404)
    assert response.status_code == 404 or response["Location"].startswith(step_up_paths())


def test_acting_as_staff_follows_the_session(world, staff_need_mfa):
    plain = world.client(STAFF_PLAIN).get(reverse("dashboard"))
    verified = world.client(STAFF_MFA).get(reverse("dashboard"))

    assert acting_as_staff(plain.wsgi_request.user) is False
    assert acting_as_staff(verified.wsgi_request.user) is True


def test_without_the_mfa_rule_staff_keep_their_powers(world, settings):
    settings.ADMIN_REQUIRES_MFA = False
    client = world.client(STAFF_PLAIN)

    assert client.get(reverse("orders:detail", args=[world.order_requested.pk])).status_code == 200
    assert client.get(reverse("messaging:staff_inbox")).status_code == 200


def test_every_admin_url_refuses_non_staff_and_staff_without_the_second_factor(world, staff_need_mfa):
    """Generated from the inventory: each admin URL as a signed-in member (GET) and as staff
    without the second factor (GET and POST): sent to sign in or to the step-up, refused, never
    served; nothing changes."""
    world.order_requested  # noqa: B018 - rows for the admin pages to name
    step_up = step_up_paths()
    watcher = DbWatcher()
    problems, count = [], 0
    for route in routes_of(ADMIN):
        path = route.path(param_values(route, world))
        for role in (STRANGER, STAFF_PLAIN):
            if role == STRANGER and route.name == "admin:logout":
                continue  # signing out is anybody's right (and would end this member's session here)
            client = world.client(role)
            for method in ("get", "post") if role == STAFF_PLAIN else ("get",):  # members: one gate for both
                watcher.sync()
                response = getattr(client, method)(path)
                changed = watcher.changed()
                count += 1
                location = response.get("Location", "")
                refused = response.status_code in (403, 404, 405) or (
                    response.status_code == 302 and (location.startswith(step_up) if role == STAFF_PLAIN
                                                     else "login" in location))
                if not refused or changed:
                    problems.append(f"{method.upper()} {path} as {role}: {response.status_code} {location} "
                                    f"{changed or ''}")
    record("admin URL refusals", count)

    assert not problems, "\n".join(problems)


def test_staff_set_up_the_app_only_after_opening_the_link_e_mailed_to_them(world, staff_need_mfa):
    """A stolen password must not enrol the thief's authenticator: allauth's set-up page stays
    closed to a staff account until the link e-mailed to it is opened in the same account."""
    activate = reverse("mfa_activate_totp")
    own_link = reverse("staff_enrol_confirm", args=[enrolment_token(world.staff_plain)])
    other_staff = make_user(is_staff=True)
    other = Client()
    other.force_login(other_staff)
    member = world.client(STRANGER)
    staff = world.client(STAFF_PLAIN)

    before = staff.get(activate)
    someone_elses_link = other.get(own_link)
    after_someone_elses_link = other.get(activate)
    members_try = member.get(own_link)
    confirmed = staff.get(own_link)
    after = staff.get(activate)
    record("staff step-up checks", 6)

    assert before.status_code == 302 and before["Location"].startswith(reverse("staff_enrol"))
    assert someone_elses_link.status_code == 302 and someone_elses_link["Location"].startswith(reverse("staff_enrol"))
    assert after_someone_elses_link["Location"].startswith(reverse("staff_enrol"))
    assert members_try.status_code == 404
    assert confirmed.status_code == 302 and confirmed["Location"].startswith(activate)
    assert not after.get("Location", "").startswith(reverse("staff_enrol"))


def test_a_forged_or_foreign_enrolment_token_confirms_nothing(world, staff_need_mfa):
    staff = world.client(STAFF_PLAIN)
    forged = enrolment_token(world.staff_plain)[:-2] + "xx"

    response = staff.get(reverse("staff_enrol_confirm", args=[forged]))
    record("staff step-up checks", 1)

    assert response.status_code == 302 and response["Location"].startswith(reverse("staff_enrol"))
    assert staff.get(reverse("mfa_activate_totp"))["Location"].startswith(reverse("staff_enrol"))

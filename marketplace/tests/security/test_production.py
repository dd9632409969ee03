"""Production mode: a process started with the production environment answers with HSTS,
secure cookies, a strict CSP, X-Frame-Options, Referrer-Policy and nosniff; its 404 and 500
pages show no stack trace, settings or secrets; and every response to a signed-in user is
`Cache-Control: private, no-store` (pages carry their data: the back button on a shared
computer must show nothing)."""

import json
import os
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.sites.models import Site
from django.db import connection
from django.urls import reverse

from accounts.tests.helpers import PASSWORD, make_user
from cadcam.tests.test_settings import PRODUCTION_ENV, run_django
from marketplace.tests.security.inventory import ADMIN, WEBHOOK
from marketplace.tests.security.production_probe import PROBE
from marketplace.tests.security.report import record
from marketplace.tests.security.samples import samples
from marketplace.tests.security.world import ANONYMOUS, EMPLOYER, FREELANCER

HOST = PRODUCTION_ENV["DJANGO_ALLOWED_HOSTS"]
PAGES = ("page", "login_page", "not_found", "server_error")
LEAKS = ("Traceback", "RuntimeError", "internal detail", "Using the URLconf", "urlpatterns", "DEBUG",
         "SECRET_KEY", "DATABASES", "django.core", "File \"", "Request Method", "settings.py")


@pytest.fixture(scope="module")
def production(django_db_setup, django_db_blocker):
    """What the production process says (the test database's migrated tables behind it)."""
    with django_db_blocker.unblock():
        # A transactional test that ran before leaves the tables flushed until the next one
        # restores them; the pages need the site row the migrations seed.
        Site.objects.get_or_create(pk=settings.SITE_ID, defaults={"name": "CadCam Masters",
                                                                  "domain": settings.SITE_DOMAIN})
    database_url = urlsplit(os.environ["DATABASE_URL"])._replace(path="/" + connection.settings_dict["NAME"])
    result = run_django(PROBE, env={**PRODUCTION_ENV, "DATABASE_URL": database_url.geturl()})
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def check(count: int = 1) -> None:
    record("production checks", count)


def test_production_mode_is_not_debug(production):
    check()
    assert production["settings"]["DEBUG"] is False
    assert production["settings"]["SERVE_MEDIA"] is False
    assert production["settings"]["ADMIN_REQUIRES_MFA"] is True
    assert production["media"]["status"] == 404  # uploads are the web server's, never Django's


def test_hsts_on_every_https_answer(production):
    for page in PAGES:
        check()
        hsts = production[page]["headers"].get("Strict-Transport-Security", "")
        assert "max-age=31536000" in hsts, page
        assert "includeSubDomains" in hsts and "preload" in hsts, page


def test_plain_http_is_sent_to_https_except_the_health_check(production):
    check(2)
    assert production["plain_http"]["status"] == 301
    assert production["plain_http"]["headers"]["Location"] == f"https://{HOST}/how-it-works/"
    assert production["healthz_http"]["status"] in (200, 503)


@pytest.mark.parametrize("page", PAGES)
def test_security_headers(production, page):
    headers = production[page]["headers"]
    check(5)

    assert headers.get("X-Frame-Options") == "DENY"
    assert headers.get("Referrer-Policy") == "strict-origin-when-cross-origin"
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin"
    csp = headers.get("Content-Security-Policy", "")
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, csp
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                      "object-src 'none'", "base-uri 'self'", "form-action 'self'"):
        assert directive in csp, (directive, csp)


def test_cookie_settings(production):
    values = production["settings"]
    check(5)

    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SAMESITE"] in ("Lax", "Strict")


def test_the_csrf_cookie_is_secure_and_same_site(production):
    cookie = production["login_page"]["cookies"].get(production["settings"]["CSRF_COOKIE_NAME"])
    check()

    assert production["login_page"]["status"] == 200
    assert cookie is not None
    assert cookie["secure"] is True
    assert cookie["samesite"] in ("Lax", "Strict")


@pytest.mark.django_db
def test_signing_in_sets_a_secure_httponly_same_site_session_cookie(production, settings, client):
    for name in ("SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SECURE",
                 "CSRF_COOKIE_SAMESITE"):
        setattr(settings, name, production["settings"][name])
    user = make_user()

    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD}, secure=True)
    check()

    assert response.status_code == 302
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"] and session["samesite"] in ("Lax", "Strict")


def test_the_404_page_shows_nothing_internal(production):
    answer = production["not_found"]
    check()

    assert answer["status"] == 404
    assert "find that page" in answer["body"]
    leaked = [word for word in (*LEAKS, production["secret"]) if word in answer["body"]]
    assert not leaked


def test_the_500_page_shows_no_stack_trace_settings_or_secret(production):
    answer = production["server_error"]
    check()

    assert answer["status"] == 500
    assert "Something went wrong" in answer["body"]
    leaked = [word for word in (*LEAKS, production["secret"], connection.settings_dict["NAME"])
              if word in answer["body"]]
    assert not leaked


# --- Cache-Control on everything a signed-in user receives ------------------------------------------------

NO_STORE = ("private", "no-store")


def cache_problem(response) -> str:
    value = response.get("Cache-Control", "")
    return "" if all(word in value for word in NO_STORE) else f"Cache-Control: {value or '(none)'}"


@pytest.mark.django_db
def test_private_pages_are_never_stored(world):
    pages = {
        EMPLOYER: [reverse("orders:detail", args=[world.order_requested.pk]),
                   reverse("payouts:receipt", args=[world.order_completed.pk]), reverse("payouts:spending"),
                   reverse("account_email"), reverse("messaging:conversation", args=[world.direct.pk])],
        FREELANCER: [reverse("payouts:index"), reverse("payouts:earnings_csv"), reverse("accounts:profile"),
                     reverse("accounts:verification"), reverse("dashboard"), reverse("messaging:inbox")],
    }
    problems = []
    for role, paths in pages.items():
        client = world.client(role)
        for path in paths:
            response = client.get(path)
            record("Cache-Control checks", 1)
            if response.status_code != 200 or cache_problem(response):
                problems.append(f"{path} as {role}: {response.status_code} {cache_problem(response)}")

    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_every_answer_to_a_signed_in_user_is_private_no_store(world, staff_need_mfa):
    """Every URL of the inventory, as the person it is for (redirects and refusals too); of the
    admin's ~200 (all under one never_cache wrapper), the index and the lists."""
    problems, count = [], 0
    for sample in samples(world):
        if sample.route.kind == WEBHOOK or sample.actor == ANONYMOUS:
            continue
        if sample.route.kind == ADMIN and not (sample.route.key == "admin:index" or
                                               sample.route.key.endswith("_changelist")):
            continue
        response = world.client(sample.actor).get(sample.path)
        count += 1
        if cache_problem(response):
            problems.append(f"{sample.route.key} GET {sample.path} as {sample.actor}: {response.status_code} "
                            f"{cache_problem(response)}")
    record("Cache-Control checks", count)

    assert not problems, "\n".join(problems)

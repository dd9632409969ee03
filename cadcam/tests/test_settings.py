"""Production mode is what runs when DJANGO_DEBUG is not set: it must refuse to start
half-configured, and pass Django's deployment checklist once configured."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from cadcam import settings as settings_module

BASE_DIR = settings.BASE_DIR

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "k3y-for-tests-9Qz!v7Lw#2Rx8Tb$5Nm&1Pq@4Hs^6Jd*0Fg(3Ak)8Ze_Yc+Uo",
    "DJANGO_ALLOWED_HOSTS": "cadcam.example.com",
}


def run_django(code: str, *, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=BASE_DIR,
        env={**base, "DJANGO_SETTINGS_MODULE": "cadcam.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"])
def test_production_refuses_to_start_without_required_variable(missing):
    env = {**PRODUCTION_ENV, "DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": os.environ["REDIS_URL"]}
    env.pop(missing)
    base = {key: value for key, value in os.environ.items() if key != missing and not key.startswith("DJANGO_")}

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env={**base, "DJANGO_SETTINGS_MODULE": "cadcam.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr


def test_check_deploy_is_clean_with_production_variables():
    base = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env={**base, **PRODUCTION_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stderr


def test_production_serves_static_files_through_whitenoise_manifest():
    result = run_django(
        "from django.conf import settings; print(settings.STORAGES['staticfiles']['BACKEND'])",
        env=PRODUCTION_ENV,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "whitenoise.storage.CompressedManifestStaticFilesStorage"


@pytest.mark.parametrize("extra_env", [{}, {"STRIPE_SECRET_KEY": "sk_test_123"}])
def test_the_site_wide_csp_allows_only_our_own_origin_even_with_stripe_configured(extra_env):
    """Stripe's addresses are added by the payment page to its own response only."""
    result = run_django(
        "from django.conf import settings; d = settings.CONTENT_SECURITY_POLICY['DIRECTIVES']; "
        "print(d['script-src'], d['connect-src'], d['frame-src'])",
        env={**PRODUCTION_ENV, **extra_env},
    )

    assert result.returncode == 0, result.stderr
    assert "stripe" not in result.stdout


def test_redis_unix_socket_url_becomes_kombu_socket_url():
    assert settings_module.broker_url_for("unix:///tmp/r.sock") == "redis+socket:///tmp/r.sock"
    assert settings_module.broker_url_for("redis://cache:6379/0") == "redis://cache:6379/0"


@pytest.mark.django_db
def test_models_and_migrations_agree():
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)

"""Settings for CadCam Masters: one module, driven by environment variables.

With DJANGO_DEBUG unset or false the process is in production mode: the secrets
and service URLs below have no defaults and a missing one stops the start with
django-environ's ImproperlyConfigured ("Set the X environment variable").
`make run` and `make test` set DJANGO_DEBUG=true and provide embedded PostgreSQL
and Redis URLs (see cadcam/embedded.py), so nothing needs to be configured locally.
"""

from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.contrib.messages import constants as message_constants

from cadcam.observability import breadcrumb_without_extras
from cadcam.s3_settings import s3_storages

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-never-used-in-production-cadcam")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
else:
    SECRET_KEY = env("DJANGO_SECRET_KEY")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A database that does not answer fails a request (and /readyz) in seconds, not minutes.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
    "connect_timeout", env.int("DJANGO_DB_CONNECT_TIMEOUT", default=5)
)
# An optional read replica: browse and search read from it (cadcam.db.read_replica); migrations
# and every write stay on the primary. Tests mirror it onto the primary.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL") | {
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"], "CONN_HEALTH_CHECKS": True, "TEST": {"MIRROR": "default"},
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One Redis serves the cache (sessions-independent; allauth rate limits live here)
# and the Celery broker. redis-py understands redis://, rediss:// and unix:// URLs;
# kombu spells the unix socket form redis+socket://.
REDIS_URL = env("REDIS_URL")


def broker_url_for(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


INSTALLED_APPS = [
    "cadcam.apps.StaffAdminConfig",  # django.contrib.admin, its site asking acting_as_staff
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "crispy_forms",
    "crispy_bootstrap5",
    "csp",
    "django_celery_beat",
    "django_prometheus",
    "django_countries",
    "phonenumber_field",
    # Our apps, lowest layer first: each imports only apps listed before it (docs/architecture.md).
    "cadcam",
    "accounts",
    "payments",
    "listings",
    "orders",
    "payouts",
    "reviews",
    "messaging",
    "disputes",
    "marketplace",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "cadcam.observability.RequestIdMiddleware",
    "cadcam.middleware.InternalEndpointsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "listings.middleware.AnonymousBrowseCacheMiddleware",
    "cadcam.middleware.BadBytesMiddleware",
    "cadcam.middleware.UploadFormRedirectMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "cadcam.middleware.PrivateCacheMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "cadcam.middleware.StorageCSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "cadcam.middleware.StaffStepUpMiddleware",
    "cadcam.middleware.UserTimezoneMiddleware",
    "cadcam.middleware.ApplicationErrorMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "cadcam.urls"
WSGI_APPLICATION = "cadcam.wsgi.application"
SITE_ID = 1
# The public host name, used in links inside e-mails.
SITE_DOMAIN = env("SITE_DOMAIN", default="127.0.0.1:8000" if DEBUG else ALLOWED_HOSTS[0])

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "messaging.context_processors.unread_messages",
                "marketplace.selling.selling",
                "cadcam.staff.staff_context",
                "cadcam.direct_uploads.direct_upload_context",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"max_similarity": 0.5}},
    {"NAME": "accounts.validators.NotContainingAccountNameValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_REDIRECT_URL = "home"
LOGIN_URL = "account_login"

# django-allauth: e-mail is the login, verified before the first sign-in.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_RATE_LIMITS_ENABLED = True  # allauth's defaults: signup, password reset, ... with these changes:
ACCOUNT_RATE_LIMITS = {
    # Failed sign-ins count per account only (allauth also counts 10 a minute per IP address, which
    # locks everyone behind that address out, the right password included). Guessing from one
    # address across many accounts is held by "login": 30 attempts a minute per address.
    # A targeted lockout lasts five minutes, and resetting the password lifts it (docs/security.md).
    "login_failed": "5/5m/key",
    "login": "30/m/ip",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[CadCam Masters] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "CadCam Masters"
# Staff must have an authenticator app before /admin/ opens. On by default in production.
ADMIN_REQUIRES_MFA = env.bool("ADMIN_REQUIRES_MFA", default=not DEBUG)

ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}
# The Terms of Service users accept at sign-up; raise it when the terms change.
TERMS_VERSION = "2026-11-01"
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "INTERNATIONAL"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
MESSAGE_TAGS = {message_constants.ERROR: "danger"}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Public uploads (profile photos, listing images) live under MEDIA_ROOT and are served
# at MEDIA_URL: by Django when DJANGO_SERVE_MEDIA is on (the default in development),
# by the web server in front otherwise. Private files (ID documents) live elsewhere and
# are only ever served by views that check permission.
# Local data (embedded databases, uploads, e-mail files) lives under CADCAM_DATA_DIR.
DATA_DIR = Path(env("CADCAM_DATA_DIR", default=str(BASE_DIR / ".data")))
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=DATA_DIR / "media")
PRIVATE_MEDIA_ROOT = env.path("DJANGO_PRIVATE_MEDIA_ROOT", default=DATA_DIR / "private")
SERVE_MEDIA = env.bool("DJANGO_SERVE_MEDIA", default=DEBUG)
FILE_UPLOAD_PERMISSIONS = 0o640
# Every upload streams to a temporary file on disk; one over 100 MB is dropped as it
# arrives (cadcam/uploads.py) and the view tells the user.
FILE_UPLOAD_HANDLERS = ["cadcam.uploads.LimitedUploadHandler"]
FILE_UPLOAD_PER_FILE_LIMIT = 100 * 1024 * 1024
# Upload limits and quotas (docs/security.md). One request carries at most this many files and
# bytes; the rest is dropped while it arrives and the user is told which files were left out.
UPLOAD_MAX_FILES = env.int("UPLOAD_MAX_FILES", default=20)
UPLOAD_MAX_REQUEST_BYTES = env.int("UPLOAD_MAX_REQUEST_BYTES", default=500 * 1024 * 1024)
# Case files on an account's cases that are not paid yet (waiting for payment or for the
# designer, or ended unpaid and not yet deleted) may hold at most this much...
UNPAID_CASE_FILES_QUOTA_BYTES = env.int("UNPAID_CASE_FILES_QUOTA_BYTES", default=2 * 1024**3)
# ... and the files of a case that ended unpaid are deleted this many days after it ended.
UNPAID_CASE_FILES_KEPT_DAYS = env.int("UNPAID_CASE_FILES_KEPT_DAYS", default=7)
SEND_CASE_PER_HOUR = env.int("SEND_CASE_PER_HOUR", default=20)
# The design review page draws a 3D file only up to this many triangles (docs/previews.md):
# above it a browser without a strong graphics card stalls, so the page lists the pins and
# offers the download instead.
PREVIEW_MAX_TRIANGLES = env.int("PREVIEW_MAX_TRIANGLES", default=3_000_000)
# Files attached to messages (dispute threads included) by one account in 24 hours.
MESSAGE_FILES_DAILY_QUOTA_BYTES = env.int("MESSAGE_FILES_DAILY_QUOTA_BYTES", default=1024**3)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {"BACKEND": "cadcam.storage.PrivateFileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Files on S3 or an S3-compatible service (MinIO, Ceph, R2, Wasabi, ...): set the bucket and the
# public media and private files go there (README "Files on S3"); without it they stay in the
# local folders above. The apps only ever see STORAGES["default"] and STORAGES["private"].
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES |= s3_storages(
        bucket=AWS_STORAGE_BUCKET_NAME,
        private_bucket=env("AWS_PRIVATE_STORAGE_BUCKET_NAME", default=""),
        endpoint_url=env("AWS_S3_ENDPOINT_URL", default=None),
        browser_endpoint_url=env("AWS_S3_BROWSER_ENDPOINT_URL", default=None),
        region_name=env("AWS_S3_REGION_NAME", default=None),
        public_location=env("AWS_LOCATION", default="media"),
        private_location=env("AWS_PRIVATE_LOCATION", default="private"),
        public_acl=env("AWS_PUBLIC_ACL", default="public-read"),
        private_acl=env("AWS_PRIVATE_ACL", default="private"),
        custom_domain=env("AWS_S3_CUSTOM_DOMAIN", default=None),
        url_protocol=env("AWS_S3_URL_PROTOCOL", default="https:"),
        addressing_style=env("AWS_S3_ADDRESSING_STYLE", default=None),
        signed_url_seconds=env.int("PRIVATE_FILE_URL_SECONDS", default=300),
    )
# Direct uploads (S3 only): the browser sends files of up to this size with one presigned
# POST, larger ones in parts of this size (multipart upload). Uploads never attached to an
# order or message are deleted after DIRECT_UPLOAD_ORPHAN_HOURS; one account's unattached
# uploads may hold at most DIRECT_UPLOADS_PENDING_QUOTA_BYTES.
DIRECT_UPLOAD_PART_BYTES = env.int("DIRECT_UPLOAD_PART_BYTES", default=16 * 1024 * 1024)
DIRECT_UPLOAD_ORPHAN_HOURS = env.int("DIRECT_UPLOAD_ORPHAN_HOURS", default=24)
DIRECT_UPLOADS_PENDING_QUOTA_BYTES = env.int("DIRECT_UPLOADS_PENDING_QUOTA_BYTES", default=2 * 1024**3)

# Development serves static files straight from the source folders; production from
# `collectstatic`'s compressed, hashed copies.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

CACHES = {
    "default": {
        "BACKEND": "cadcam.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cadcam",
    }
}
# The browse and search page's cache (listings/browse_cache.py): how long an entry may live at
# most. Changes invalidate entries at once; this bounds what a lost invalidation could leave. 0: off.
BROWSE_CACHE_SECONDS = env.int("BROWSE_CACHE_SECONDS", default=300)

# E-mail: printed to the console in development, SMTP in production.
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="CadCam Masters <no-reply@cadcam.test>")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
if DEBUG:
    EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
else:
    EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
    EMAIL_HOST = env("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=587)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
EMAIL_FILE_PATH = env.path("EMAIL_FILE_PATH", default=DATA_DIR / "emails")
EMAIL_TIMEOUT = 20

# Celery (read by cadcam/celery.py with the CELERY_ namespace).
CELERY_BROKER_URL = broker_url_for(REDIS_URL)
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60
CELERY_RESULT_EXPIRES = 60 * 60
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# django-celery-beat's database scheduler, holding a Redis lock: a second beat started by
# mistake waits instead of sending every job twice (cadcam/beat.py).
CELERY_BEAT_SCHEDULER = "cadcam.beat:SingleBeatScheduler"
# Periodic tasks live here, in code; django-celery-beat's database scheduler writes
# them to its tables when beat starts, where staff can see (and pause) them in admin.
CELERY_BEAT_SCHEDULE = {
    "beat-heartbeat": {
        "task": "cadcam.tasks.beat_heartbeat",
        "schedule": 60,
    },
    "sweep-direct-uploads": {
        "task": "cadcam.tasks.sweep_direct_uploads",
        "schedule": 10 * 60,
    },
    "clear-expired-sessions": {
        "task": "cadcam.tasks.clear_expired_sessions",
        "schedule": 24 * 60 * 60,
    },
    "order-deadlines": {
        "task": "orders.tasks.run_deadlines",
        "schedule": 60,
    },
    "payouts": {
        "task": "payouts.tasks.run_payouts",
        "schedule": 60,
    },
    "recover-money-operations": {
        "task": "payments.tasks.recover_money_operations",
        "schedule": 60,
    },
    "reconcile-daily": {
        "task": "payments.tasks.reconcile_daily",
        "schedule": 24 * 60 * 60,
    },
    "requeue-stripe-events": {
        "task": "payments.tasks.requeue_stripe_events",
        "schedule": 10 * 60,
    },
    "expire-listings": {
        "task": "listings.tasks.expire_listings",
        "schedule": 60 * 60,
    },
    "purge-id-documents": {
        "task": "accounts.tasks.purge_id_documents",
        "schedule": 60 * 60,
    },
    "review-sweep": {
        "task": "reviews.tasks.run_review_sweep",
        "schedule": 10 * 60,
    },
    "message-notifications": {
        "task": "messaging.tasks.send_unread_notifications",
        "schedule": 60,
    },
}

# Stripe: with STRIPE_SECRET_KEY set, payments go through Stripe; without, through the
# simulated gateway. STRIPE_API_BASE points the SDK elsewhere (tests use localstripe).
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_CONNECT_WEBHOOK_SECRET = env("STRIPE_CONNECT_WEBHOOK_SECRET", default="")
# Where the platform's Stripe account is: connected accounts elsewhere are cross-border.
STRIPE_PLATFORM_COUNTRY = env("STRIPE_PLATFORM_COUNTRY", default="US")
# The SDK retries failed requests with the same idempotency key.
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# How many days back the daily reconciliation asks the gateway about orders (older ones have settled).
RECONCILE_GATEWAY_DAYS = env.int("RECONCILE_GATEWAY_DAYS", default=60)
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
STRIPE_JS_URL = env("STRIPE_JS_URL", default="https://js.stripe.com/v3/")

# Security headers. CSP: our own static files only, no inline code. The payment page adds
# Stripe's addresses (the origins of STRIPE_JS_URL and STRIPE_API_BASE) to its own response
# only: payments.stripe_gateway.browser_csp_sources.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        # 'self': PDF previews of private files (served with X-Frame-Options SAMEORIGIN).
        "frame-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Probes and Prometheus call these over plain HTTP from inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)$"]
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = env.list(
        "DJANGO_CSRF_TRUSTED_ORIGINS", default=[f"https://{host}" for host in ALLOWED_HOSTS]
    )

# Logs go to standard error: one JSON object a line in production (DJANGO_LOG_FORMAT=json, the
# default there), plain lines in development. Every record has the request id
# (cadcam/observability.py), also in the Celery tasks a request started.
LOG_FORMAT = env("DJANGO_LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "cadcam.observability.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
# Celery keeps its own log set-up otherwise; ours (above) makes its lines JSON too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Error reports to Sentry when SENTRY_DSN is set: Django and Celery, no personal data (no user
# e-mails or IPs, no request bodies or cookies).
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        max_request_body_size="never",
        before_breadcrumb=breadcrumb_without_extras,
        environment=env("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# /metrics (cadcam/metrics.py): open to these networks, and to anyone with the token.
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# /readyz calls the beat stale when its heartbeat job has not run for this long.
BEAT_HEARTBEAT_STALE_SECONDS = env.int("BEAT_HEARTBEAT_STALE_SECONDS", default=5 * 60)

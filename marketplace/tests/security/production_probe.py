"""What a production process answers, probed in a subprocess started with the production
environment (DJANGO_DEBUG unset): its security settings, and the headers, cookies and
bodies of a few requests made through Django's test client behind a TLS proxy
(X-Forwarded-Proto: https), with static URLs resolved without collectstatic's manifest.
`PROBE` is the code the subprocess runs; it prints one JSON
object. A view that raises (with the secret key in its message) stands in for a bug."""

PROBE = r'''
import json
import sys
import types

from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
from django.urls import include, path

import cadcam.urls as site_urls

HOST = settings.ALLOWED_HOSTS[0]


def boom(request):
    raise RuntimeError(f"internal detail {settings.SECRET_KEY} {settings.DATABASES['default']['NAME']}")


probe_urls = types.ModuleType("security_probe_urls")
probe_urls.urlpatterns = [path("boom/", boom), path("", include(site_urls))]
for name in ("handler400", "handler403", "handler404", "handler500"):
    if hasattr(site_urls, name):
        setattr(probe_urls, name, getattr(site_urls, name))
sys.modules["security_probe_urls"] = probe_urls


def answer(response):
    cookies = {name: {"secure": bool(m["secure"]), "httponly": bool(m["httponly"]), "samesite": m["samesite"]}
               for name, m in response.cookies.items()}
    body = b"" if getattr(response, "streaming", False) else response.content
    return {"status": response.status_code, "headers": dict(response.items()), "cookies": cookies,
            "body": body.decode("utf-8", "replace")}


# collectstatic's manifest is not built here: static URLs are resolved without it.
plain_static = override_settings(STORAGES={
    **settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}})
plain_static.enable()
https = Client(raise_request_exception=False, HTTP_HOST=HOST, HTTP_X_FORWARDED_PROTO="https")
http = Client(raise_request_exception=False, HTTP_HOST=HOST)
out = {
    "settings": {name: getattr(settings, name, None) for name in (
        "DEBUG", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
        "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_SECURE", "CSRF_COOKIE_SAMESITE", "X_FRAME_OPTIONS", "SECURE_REFERRER_POLICY",
        "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_CROSS_ORIGIN_OPENER_POLICY", "SERVE_MEDIA", "ADMIN_REQUIRES_MFA",
        "SESSION_COOKIE_NAME", "CSRF_COOKIE_NAME", "LANGUAGE_COOKIE_SECURE", "LANGUAGE_COOKIE_HTTPONLY",
    )},
    "secret": settings.SECRET_KEY,
    "page": answer(https.get("/how-it-works/")),
    "login_page": answer(https.get("/accounts/login/")),
    "plain_http": answer(http.get("/how-it-works/")),
    "healthz_http": answer(http.get("/healthz")),
    "not_found": answer(https.get("/no-such-page/")),
    "media": answer(https.get("/media/anything.jpg")),
}
with override_settings(ROOT_URLCONF="security_probe_urls"):
    out["server_error"] = answer(https.get("/boom/"))
print(json.dumps(out, default=str))
'''

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import redis
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from prometheus_client import CONTENT_TYPE_LATEST

from cadcam import direct_uploads
from cadcam.direct_uploads import direct_uploads_enabled
from cadcam.errors import ApplicationError
from cadcam.metrics import BEAT_HEARTBEAT, job_last_run, metrics_allowed, metrics_text
from cadcam.models import DirectUpload
from cadcam.staff import ENROLMENT_LINK_MAX_AGE, enrolment_confirm, enrolment_link_send, has_authenticator
from cadcam.storage import private_storage

logger = logging.getLogger(__name__)


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico on their own (the admin has no icon link)."""
    return redirect(static("img/logo.svg"), permanent=True)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _redis_ok() -> bool:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. Asks nothing else, so a slow database never gets healthy
    web processes restarted (that is /readyz's business)."""
    return JsonResponse({"status": "ok"})


# The storage check runs in a thread of its own so that a bucket that does not answer costs
# /readyz READYZ_STORAGE_SECONDS, not boto3's minute of retries.
READYZ_STORAGE_SECONDS = 3
_storage_checks = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readyz-storage")


def _storage_ok() -> bool:
    try:
        # a HEAD on S3, a stat on the disk
        _storage_checks.submit(private_storage().exists, "readyz").result(timeout=READYZ_STORAGE_SECONDS)
        return True
    except Exception:
        return False


_migrated = False


def _migrations_ok() -> bool:
    """No migration left to apply (remembered once true: a process's code does not change)."""
    global _migrated
    if not _migrated:
        try:
            executor = MigrationExecutor(connection)
            _migrated = not executor.migration_plan(executor.loader.graph.leaf_nodes())
        except Exception:
            return False
    return _migrated


@never_cache
@require_GET
def readyz(request):
    """Readiness: this process can serve (database, Redis, file storage, migrations applied).
    The beat's heartbeat age is reported, and "stale" when old, without failing the check:
    a stopped beat must not take the web processes out of service."""
    checks = {"database": _database_ok(), "redis": _redis_ok()}
    checks["storage"] = _storage_ok()
    checks["migrations"] = checks["database"] and _migrations_ok()
    ready = all(checks.values())
    try:
        heartbeat = job_last_run(BEAT_HEARTBEAT) if checks["redis"] else None
    except Exception:  # Redis went away since its check
        heartbeat = None
    age = round(time.time() - heartbeat["at"]) if heartbeat else None
    body = {"status": "ok" if ready else "error", **{name: "ok" if ok else "error" for name, ok in checks.items()},
            "beat": "ok" if age is not None and age <= settings.BEAT_HEARTBEAT_STALE_SECONDS else "stale",
            "beat_heartbeat_age_seconds": age}
    response = JsonResponse(body, status=200 if ready else 503)
    if not ready:
        # Probes ask every few seconds: one warning line each, not an error report each.
        logger.warning("Not ready: %s", ", ".join(name for name, ok in checks.items() if not ok))
        response._has_been_logged = True  # Django would log every 503 as an error
    return response


@never_cache
@require_GET
def metrics(request):
    """Prometheus metrics (cadcam/metrics.py); 404 to anyone not allowed to read them."""
    if not metrics_allowed(request):
        raise Http404
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)


# --- staff: setting up the second factor --------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def staff_enrol(request):
    """A staff account without an authenticator app: before allauth's set-up page opens, a link
    e-mailed to the staff address must be opened in this account, so that the password alone
    cannot enrol someone else's app."""
    user = request.user
    if not user.is_staff:
        raise Http404
    if has_authenticator(user):
        return redirect("admin:index")  # the admin asks for its code
    minutes = ENROLMENT_LINK_MAX_AGE // 60
    if request.method == "POST":
        enrolment_link_send(user)
        messages.info(request, f"We e-mailed a link to {user.email}. Open it while signed in to this account, "
                               f"within {minutes} minutes.")
        return redirect("staff_enrol")
    return render(request, "staff_enrol.html", {"minutes": minutes})


@login_required
@require_GET
def staff_enrol_confirm(request, token: str):
    """The e-mailed link: confirms this session may set up the authenticator app."""
    if not request.user.is_staff:
        raise Http404
    if not enrolment_confirm(request, token):
        messages.error(request, "That link is not valid any more. Ask for a new one.")
        return redirect("staff_enrol")
    return redirect("mfa_activate_totp")


# --- direct uploads (S3 mode; cadcam/direct_uploads.py, static/js/upload-progress.js) -----------


def _json_body(request) -> dict:
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise ApplicationError("Send the upload's details as a JSON object.")
    return payload


def _upload_refused(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@login_required
@require_POST
def direct_upload_start(request):
    """`{"name": ..., "size": bytes}` -> where the browser sends the file (201), or
    `{"error": ...}` (400) for a name or size the forms would refuse."""
    if not direct_uploads_enabled():
        raise Http404
    try:
        payload = _json_body(request)
        name, size = payload.get("name"), payload.get("size")
        if not isinstance(name, str) or not name.strip() or isinstance(size, bool) or not isinstance(size, int):
            raise ApplicationError("Give the file's name and its size in bytes.")
        answer = direct_uploads.direct_upload_start(owner=request.user, name=name, size=size)
    except ApplicationError as error:
        return _upload_refused(error.message)
    answer["complete_url"] = reverse("direct_upload_complete", args=[answer["token"]])
    return JsonResponse(answer, status=201)


@login_required
@require_POST
def direct_upload_complete(request, token):
    """The browser has sent the bytes: check they all arrived. 404 for another's upload."""
    if not direct_uploads_enabled():
        raise Http404
    try:
        upload = direct_uploads.direct_upload_complete(owner=request.user, token=token)
    except DirectUpload.DoesNotExist:
        raise Http404 from None
    except ApplicationError as error:
        return _upload_refused(error.message)
    return JsonResponse({"token": str(upload.token), "name": upload.name, "size": upload.size})

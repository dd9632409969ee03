
import redis
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from cadcam.staff import ENROLMENT_LINK_MAX_AGE, enrolment_confirm, enrolment_link_send, has_authenticator


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
    checks = {"database": _database_ok(), "redis": _redis_ok()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "error", **{name: "ok" if ok else "error" for name, ok in checks.items()}}
    return JsonResponse(body, status=200 if healthy else 503)


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

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import BadRequest
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from cadcam import views
from cadcam.errors import ApplicationError
from cadcam.forms import CONTROL_CHARACTERS, CONTROL_CHARACTERS_BUT_LINE_BREAKS
from cadcam.staff import enrolment_confirmed, has_authenticator, staff_session_verified, step_up
from cadcam.storage import storage_browser_origins


class BadBytesMiddleware:
    """Control characters never reach a view (or the database): one in the path is a 404 (no
    page has such an address), one in a query parameter's name or value a 400 (tabs and line
    breaks excepted: they come from pasted searches). The same characters as the forms refuse
    (cadcam/forms.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if CONTROL_CHARACTERS.search(request.path_info):
            raise Http404("The address has control characters.")
        for key, values in request.GET.lists():
            if any(CONTROL_CHARACTERS_BUT_LINE_BREAKS.search(text) for text in (key, *values)):
                raise BadRequest("A query parameter has control characters.")
        return self.get_response(request)


class PrivateCacheMiddleware:
    """Pages shown to a signed-in user carry their data (their name and unread count in the
    navigation bar at least), so no browser or proxy may keep them: `Cache-Control: private,
    no-store` unless the view chose its own caching. The back button after signing out on a
    shared computer then shows nothing private."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control") and self.signed_in(request):
            response["Cache-Control"] = "private, no-store"
        return response

    @staticmethod
    def signed_in(request) -> bool:
        # It sits above CommonMiddleware, whose redirects (a missing slash) come before
        # AuthenticationMiddleware has set request.user: then the session tells.
        user = getattr(request, "user", None)
        if user is not None:
            return user.is_authenticated
        session = getattr(request, "session", None)
        return session is not None and SESSION_KEY in session


class StorageCSPMiddleware:
    """With files on S3, pages load public images, image and PDF previews, 3D previews and
    direct uploads from the bucket's address: add it to the policy's img-src, connect-src and
    frame-src (after any view's own additions). Locally it adds nothing. Sits just inside
    django-csp's middleware, which reads `response._csp_update` on the way out."""

    DIRECTIVES = ("img-src", "connect-src", "frame-src")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        origins = storage_browser_origins()
        if origins:
            update = dict(getattr(response, "_csp_update", None) or {})
            for directive in self.DIRECTIVES:
                present = update.get(directive) or []
                present = [present] if isinstance(present, str) else list(present)
                update[directive] = present + [origin for origin in origins if origin not in present]
            response._csp_update = update
        return response


class InternalEndpointsMiddleware:
    """/healthz, /readyz and /metrics are asked for by probes and Prometheus at the pod's own
    address (`Host: 10.42.0.17:8000`), which is no name of the site: served here, before
    anything reads the Host header, they answer whatever it says instead of a 400 logged as
    an error. They read nothing from the request but its headers and address. Other methods
    go through the whole stack (and its CSRF check) as before."""

    VIEWS = {"/healthz": views.healthz, "/readyz": views.readyz, "/metrics": views.metrics}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = self.VIEWS.get(request.path_info) if request.method in ("GET", "HEAD") else None
        return view(request) if view is not None else self.get_response(request)


class UploadFormRedirectMiddleware:
    """Forms with files are sent by script (static/js/upload-progress.js) so it can show the
    progress. A redirect answering such a request would be followed inside the script, and the
    page it leads to would use up the messages ("Message sent to ...") before the browser
    shows it. Told by the script's `X-Upload-Form` header, this hands the script the address
    instead (204 with `X-Redirect-To`), and the browser then opens it itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.headers.get("X-Upload-Form") and response.status_code in (301, 302, 303, 307, 308):
            answer = HttpResponse(status=204)
            answer["X-Redirect-To"] = response["Location"]
            answer.cookies = response.cookies
            return answer
        return response


class StaffStepUpMiddleware:
    """Marks whether a staff user's rights are usable in this session (cadcam/staff.py): with
    ADMIN_REQUIRES_MFA, only after the second factor. A staff member without it is sent to
    set up or enter their authenticator app before any admin page opens (decided on the view
    the URL resolved to, whatever path or SCRIPT_NAME it came in under); elsewhere they are
    treated as a normal user. allauth's set-up page stays closed to staff until the e-mailed
    link confirmed the session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and user.is_staff:
            user.staff_verified = staff_session_verified(request)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_staff):
            return None
        match = request.resolver_match
        if not user.staff_verified and "admin" in match.namespaces:
            return step_up(request)
        if (settings.ADMIN_REQUIRES_MFA and match.view_name == "mfa_activate_totp"
                and not enrolment_confirmed(request) and not has_authenticator(user)):
            return step_up(request)
        return None


class UserTimezoneMiddleware:
    """Show times in the signed-in user's time zone (from their profile); UTC otherwise."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        profile = getattr(request.user, "profile", None) if request.user.is_authenticated else None
        if profile is None:
            return self.get_response(request)
        timezone.activate(profile.time_zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class ApplicationErrorMiddleware:
    """A refused action that no view caught (a gateway that does not answer while a page is
    built, say) reaches the person as a message, never as a 500: a form post goes back to the
    page it came from with the message; a page shows the message with a 409 (the action is not
    possible now) or a 503 (the payment service did not answer)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, ApplicationError):
            return None
        if request.method == "POST":
            messages.error(request, exception.message)
            back = request.headers.get("Referer", "")
            safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure())
            return redirect(back if safe else "home")
        # A gateway error says whether the payment service answered (payments.gateway.GatewayError).
        unavailable = getattr(exception, "definite", True) is False
        return render(request, "refused.html", {"message": exception.message, "unavailable": unavailable},
                      status=503 if unavailable else 409)

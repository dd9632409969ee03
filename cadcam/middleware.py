from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from cadcam.errors import ApplicationError


class AdminRequiresMFAMiddleware:
    """With settings.ADMIN_REQUIRES_MFA (the default in production), a staff member
    without an authenticator app is sent to set one up before /admin/ opens."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.admin_prefix = reverse("admin:index")

    def __call__(self, request):
        if (
            settings.ADMIN_REQUIRES_MFA
            and request.path.startswith(self.admin_prefix)
            and request.user.is_authenticated
            and request.user.is_staff
            and not Authenticator.objects.filter(user=request.user, type=Authenticator.Type.TOTP).exists()
        ):
            messages.warning(request, "Set up two-factor authentication before opening the staff admin.")
            return redirect("mfa_activate_totp")
        return self.get_response(request)


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

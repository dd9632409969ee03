from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone


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

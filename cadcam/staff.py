"""Acting as staff: the one definition every view, selector and service uses.

A staff account's powers (reading others' orders, files, ID documents and dispute threads,
the support inbox, the admin) are usable only by a session that completed the second factor
when `ADMIN_REQUIRES_MFA` is on (the default in production). `StaffStepUpMiddleware` marks
each request's user; everything else asks `acting_as_staff(user)`. A staff session without
the second factor is treated as a normal user (404 on others' things), and is sent to set up
or enter its authenticator app when it asks for a staff-only page (`staff_page`).

Setting the app up for a staff account needs more than the password: a link e-mailed to the
staff address, opened in the same account, confirms the session first (`staff_enrol` in
cadcam/views.py; the middleware keeps allauth's set-up page closed to staff until then).
Otherwise a stolen password would enrol the thief's own authenticator.

Users loaded outside a request (Celery tasks, management commands, a finisher recording a
decision taken earlier) are trusted as their `is_staff` says: no session is involved."""

from __future__ import annotations

import time
from functools import wraps

from allauth.account.authentication import get_authentication_records
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.cache import cache
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from cadcam.emails import send_templated_email


def acting_as_staff(user) -> bool:
    """Whether this user's staff rights are usable now."""
    return bool(getattr(user, "is_staff", False)) and getattr(user, "staff_verified", True)


def staff_session_verified(request) -> bool:
    """A staff session counts when the second factor is not required, or was used in it."""
    if not settings.ADMIN_REQUIRES_MFA:
        return True
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, request.user))


ENROLMENT_SESSION_KEY = "staff_enrolment_confirmed_at"
ENROLMENT_LINK_MAX_AGE = 30 * 60  # seconds; the confirmation in the session lasts as long
ENROLMENT_SALT = "cadcam.staff.enrolment"
ENROLMENT_MAIL_EVERY = 60  # seconds: one link e-mail a minute at most


def has_authenticator(user) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def enrolment_token(user) -> str:
    return signing.dumps({"user": user.pk}, salt=ENROLMENT_SALT)


def enrolment_link_send(user) -> None:
    """E-mail the staff member the link that lets this account set up its authenticator app;
    at most one e-mail a minute, however often it is asked for."""
    if cache.add(f"staff-enrol-mail:{user.pk}", 1, ENROLMENT_MAIL_EVERY):
        link = reverse("staff_enrol_confirm", args=[enrolment_token(user)])
        send_templated_email(to=user.email, template="staff_enrol",
                             context={"user": user, "link": link, "minutes": ENROLMENT_LINK_MAX_AGE // 60})


def enrolment_confirm(request, token: str) -> bool:
    """The e-mailed link opened: if it was sent to this account and is fresh, this session may
    set up the authenticator app for the next ENROLMENT_LINK_MAX_AGE seconds."""
    try:
        sent_to = signing.loads(token, salt=ENROLMENT_SALT, max_age=ENROLMENT_LINK_MAX_AGE)["user"]
    except (signing.BadSignature, KeyError, TypeError):
        return False
    if sent_to != request.user.pk:
        return False
    request.session[ENROLMENT_SESSION_KEY] = time.time()
    return True


def enrolment_confirmed(request) -> bool:
    confirmed_at = request.session.get(ENROLMENT_SESSION_KEY)
    return isinstance(confirmed_at, int | float) and time.time() - confirmed_at < ENROLMENT_LINK_MAX_AGE


def step_up(request):
    """Where a staff member without the second factor in this session is sent: set up an
    authenticator app (after confirming by e-mail), or enter its code, then back to the page
    they asked for."""
    if not has_authenticator(request.user):
        messages.warning(request, "Set up two-factor authentication to use your staff rights.")
        if enrolment_confirmed(request):
            return redirect("mfa_activate_totp")
        return redirect("staff_enrol")
    messages.info(request, "Enter the code from your authenticator app to use your staff rights.")
    return redirect(f"{reverse('mfa_reauthenticate')}?{urlencode({'next': request.get_full_path()})}")


def staff_page(view):
    """A page for staff only: 404 for everyone else, the step-up for staff without the
    second factor in this session."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_staff):
            raise Http404
        if not acting_as_staff(user):
            return step_up(request)
        return view(request, *args, **kwargs)
    return wrapped


def staff_context(request) -> dict:
    """Templates ask `acting_as_staff`, never `user.is_staff`, before showing staff controls."""
    return {"acting_as_staff": acting_as_staff(getattr(request, "user", None))}


def second_factor_set_up(sender, request, user, authenticator, **kwargs) -> None:
    """Receiver of allauth's `authenticator_added`: setting up the authenticator app checked a
    code from it in this session, as signing in with it would, so staff rights open without
    asking for a second code at once. (`record_authentication` is allauth's internal record of
    the session's steps; e2e/test_staff_step_up_journey.py breaks if it changes.)"""
    if request is not None and authenticator.type == Authenticator.Type.TOTP:
        record_authentication(request, user, "mfa", type=authenticator.type, id=authenticator.pk)

"""Test data built through the same services people use."""

import io
import itertools
import time

from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.demo import demo_id_document
from accounts.models import Profile, User, VerificationRequest
from accounts.services import profile_get_or_create, profile_update, verification_request_create

PASSWORD = "a-long-Secret-phrase-42"
_numbers = itertools.count(1)


def make_user(*, email: str | None = None, username: str | None = None, is_staff: bool = False) -> User:
    n = next(_numbers)
    email = email or f"user{n}@example.com"
    user = User.objects.create_user(
        email=email, username=username or f"user{n}", password=PASSWORD, is_staff=is_staff, is_superuser=is_staff
    )
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    profile_get_or_create(user=user)
    return user


def sign_in_with_mfa(client, user: User) -> None:
    """Sign the test client in as allauth does after the password and the authenticator code:
    the session records both steps, so staff rights are usable (cadcam/staff.py)."""
    authenticator, _ = Authenticator.objects.get_or_create(
        user=user, type=Authenticator.Type.TOTP, defaults={"data": {"secret": "unused"}}
    )
    client.force_login(user)
    session = client.session
    now = time.time()
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": now, "email": user.email},
        {"method": "mfa", "at": now, "type": "totp", "id": authenticator.pk},
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()


def totp_code(secret: str) -> str:
    """The authenticator app's code now. Near the end of a 30-second period it waits for the
    next one, so the code is still valid when the server checks it (allauth allows no drift)."""
    if time.time() % 30 > 27:
        time.sleep(30 - time.time() % 30 + 0.1)
    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def make_view_only_staff(*models: str) -> User:
    """A staff member (not a superuser) who may only look at the given admin models
    (`view_<model>` permissions), as a support role would."""
    user = make_user()
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(*Permission.objects.filter(codename__in=[f"view_{model}" for model in models]))
    return User.objects.get(pk=user.pk)  # permissions are cached on the instance


def image_upload(name="photo.png", *, size=(400, 400), fmt="PNG", exif: bytes | None = None) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (200, 120, 40))
    kwargs = {"exif": exif} if exif else {}
    image.save(buffer, format=fmt, **kwargs)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


def pdf_upload(name="passport.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, demo_id_document("Test Person").read(), content_type="application/pdf")


COMPLETE_PROFILE = {
    "display_name": "Test Designer",
    "about": "I design crowns.\nAnd bridges.",
    "languages": ["en"],
    "training": "Dental technician",
    "country": "DE",
    "vat_number": "136695976",
    "phone": "+4930901820",
}


def make_complete_profile(user: User, **overrides) -> Profile:
    return profile_update(
        profile=user.profile, data={**COMPLETE_PROFILE, **overrides}, photo=image_upload()
    )


def make_pending_request(user: User, **profile_overrides) -> VerificationRequest:
    make_complete_profile(user, **profile_overrides)
    return verification_request_create(user=user, document_type="passport", document=pdf_upload())

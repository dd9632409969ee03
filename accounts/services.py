"""Every change to accounts, profiles and identity verification goes through here."""

from __future__ import annotations

from datetime import timedelta

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import DocumentAccess, Profile, User, VerificationRequest
from accounts.registry import VERIFIED_HOOKS, deletion_refusals
from accounts.selectors import verification_conflicts
from cadcam.emails import send_templated_email
from cadcam.errors import ApplicationError, InvalidTransition
from cadcam.files import sha256_of
from cadcam.images import reencode_image, thumbnail

ID_DOCUMENT_RETENTION = timedelta(days=30)
PHOTO_THUMBNAIL_SIDE = 256


def profile_get_or_create(*, user: User) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def profile_record_terms(*, user: User) -> Profile:
    profile = profile_get_or_create(user=user)
    profile.terms_version = settings.TERMS_VERSION
    profile.terms_accepted_at = timezone.now()
    profile.save(update_fields=["terms_version", "terms_accepted_at"])
    return profile


@transaction.atomic
def profile_update(*, profile: Profile, data: dict, photo: UploadedFile | None = None) -> Profile:
    """Save the edited fields. A new photo is re-encoded without metadata, with a square thumbnail.

    A verified profile that changes its phone or VAT number keeps its badge: staff see the
    change in the admin, and the uniqueness rule is checked again at the next approval."""
    profile = Profile.objects.select_for_update().get(pk=profile.pk)
    for field, value in data.items():
        setattr(profile, field, value)
    fields = [*data.keys()]
    if photo is not None:
        old = [profile.photo.name, profile.photo_thumbnail.name]
        stamp = f"{timezone.now():%Y%m%d%H%M%S}"
        profile.photo.save(f"photo-{stamp}.jpg", reencode_image(photo, max_side=1200), save=False)
        profile.photo_thumbnail.save(
            f"thumb-{stamp}.jpg", thumbnail(photo, size=(PHOTO_THUMBNAIL_SIDE, PHOTO_THUMBNAIL_SIDE)), save=False
        )
        fields += ["photo", "photo_thumbnail"]
        transaction.on_commit(lambda: _delete_files(profile.photo.storage, old))
    _save_checking_uniqueness(profile, fields=[*fields, "updated_at"])
    return profile


def _save_checking_uniqueness(profile: Profile, *, fields: list[str]) -> None:
    """The database refuses two verified profiles with one phone or VAT number (see the
    constraints on Profile); say so in words instead of failing."""
    try:
        with transaction.atomic():
            profile.save(update_fields=fields)
    except IntegrityError as error:
        if "accounts_verified_unique" not in str(error):
            raise
        raise ApplicationError(
            "Another verified profile already uses this phone or VAT number. "
            "Each person or business can have only one verified profile."
        ) from error


def _delete_files(storage, names) -> None:
    for name in names:
        if name:
            storage.delete(name)


@transaction.atomic
def verification_request_create(*, user: User, document_type: str, document: UploadedFile) -> VerificationRequest:
    profile = Profile.objects.select_for_update().get(user=user)
    if profile.is_verified:
        raise ApplicationError("Your profile is already verified.")
    if not profile.is_complete:
        raise ApplicationError(
            "Complete your profile before asking for verification. Missing: "
            + ", ".join(profile.missing_for_verification)
            + "."
        )
    if VerificationRequest.objects.filter(user=user, status=VerificationRequest.Status.PENDING).exists():
        raise ApplicationError("You already have a verification request waiting for review.")
    request = VerificationRequest(
        user=user,
        document_type=document_type,
        document_name=document.name[:255],
        document_sha256=sha256_of(document),
    )
    request.document.save(f"{timezone.now():%Y%m%d%H%M%S}-{document.name}", document, save=False)
    request.save()
    return request


def _lock_pending(request: VerificationRequest) -> VerificationRequest:
    locked = VerificationRequest.objects.select_for_update().select_related("user").get(pk=request.pk)
    if locked.status != VerificationRequest.Status.PENDING:
        raise InvalidTransition(f"This request was already {locked.get_status_display().lower()}.")
    return locked


@transaction.atomic(durable=True)
def verification_approve(*, request: VerificationRequest, by: User) -> VerificationRequest:
    # Lock order: profile rows by primary key, then the request. Approvals of two people
    # sharing a phone number serialize on the phone check below.
    request = _lock_pending(request)
    profile = Profile.objects.select_for_update().get(user=request.user)
    conflicts = verification_conflicts(profile)
    if conflicts:
        names = ", ".join(f"{other.public_name} (@{other.user.username})" for other in conflicts)
        raise ApplicationError(
            f"Cannot approve: another verified profile has the same phone or VAT number ({names})."
        )
    now = timezone.now()
    request.status = VerificationRequest.Status.APPROVED
    request.decided_at = now
    request.decided_by = by
    request.save(update_fields=["status", "decided_at", "decided_by"])
    profile.verified_at = now
    _save_checking_uniqueness(profile, fields=["verified_at"])
    for hook in VERIFIED_HOOKS.values():
        hook(request.user)
    send_templated_email(
        to=request.user.email,
        template="verification_approved",
        context={"user": request.user, "profile": profile},
    )
    return request


@transaction.atomic(durable=True)
def verification_reject(*, request: VerificationRequest, by: User, reason: str) -> VerificationRequest:
    reason = reason.strip()
    if not reason:
        raise ApplicationError("Give the reason for the rejection: the user reads it.")
    request = _lock_pending(request)
    request.status = VerificationRequest.Status.REJECTED
    request.decided_at = timezone.now()
    request.decided_by = by
    request.rejection_reason = reason
    request.save(update_fields=["status", "decided_at", "decided_by", "rejection_reason"])
    send_templated_email(
        to=request.user.email,
        template="verification_rejected",
        context={"user": request.user, "reason": reason},
    )
    return request


def document_access_record(*, request: VerificationRequest, by: User) -> DocumentAccess:
    """Staff opened this request's ID document: who and when, kept with the request."""
    return DocumentAccess.objects.create(request=request, viewed_by=by)


def verification_documents_purge(*, now=None) -> int:
    """Delete ID documents decided more than 30 days ago; the decision and the file's
    SHA-256 stay. Returns how many documents were deleted. Safe to run concurrently."""
    now = now or timezone.now()
    due = VerificationRequest.objects.filter(
        decided_at__lte=now - ID_DOCUMENT_RETENTION, document_deleted_at__isnull=True
    ).values_list("pk", flat=True)
    deleted = 0
    for pk in due:
        with transaction.atomic():
            request = (
                VerificationRequest.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, document_deleted_at__isnull=True)
                .first()
            )
            if request is None:
                continue
            if request.document:
                request.document.delete(save=False)
            request.document = ""
            request.document_deleted_at = now
            request.save(update_fields=["document", "document_deleted_at"])
            deleted += 1
    return deleted


@transaction.atomic(durable=True)
def user_suspend(*, user: User, by: User, reason: str) -> User:
    """A suspended user cannot sign in (their sessions end at the next request) and their
    listings leave browse and search."""
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    if user.is_suspended:
        raise InvalidTransition(f"{user.email} is already suspended.")
    if user == by:
        raise ApplicationError("You cannot suspend your own account.")
    user.suspended_at = timezone.now()
    user.suspension_reason = reason.strip()
    user.is_active = False
    user.save(update_fields=["suspended_at", "suspension_reason", "is_active"])
    return user


@transaction.atomic(durable=True)
def user_reinstate(*, user: User, by: User) -> User:
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    if not user.is_suspended:
        raise InvalidTransition(f"{user.email} is not suspended.")
    if user.deleted_at:
        raise InvalidTransition("A deleted account cannot be reinstated.")
    user.suspended_at = None
    user.suspension_reason = ""
    user.is_active = True
    user.save(update_fields=["suspended_at", "suspension_reason", "is_active"])
    return user


@transaction.atomic(durable=True)
def user_delete(*, user: User, password: str) -> User:
    """Erase the person, keep the records others rely on.

    Personal data and files go; the row stays, anonymised, so that orders, reviews and
    money records keep their other party, shown as "deleted user"."""
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    if user.deleted_at:
        raise InvalidTransition("This account is already deleted.")
    if not user.check_password(password):
        raise ApplicationError("The password is not correct.")
    refusals = deletion_refusals(user)
    if refusals:
        raise ApplicationError(" ".join(refusals))

    profile = Profile.objects.filter(user=user).first()
    files = []
    if profile:
        files += [(image.storage, image.name) for image in (profile.photo, profile.photo_thumbnail)]
        profile.delete()
    for request in VerificationRequest.objects.filter(user=user):
        if request.document:
            files.append((request.document.storage, request.document.name))
    VerificationRequest.objects.filter(user=user).update(document="", document_deleted_at=timezone.now())
    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()

    user.email = f"deleted-{user.pk}@deleted.invalid"
    user.username = f"deleted-{user.pk}"
    user.first_name = ""
    user.last_name = ""
    user.set_unusable_password()
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.deleted_at = timezone.now()
    user.save(
        update_fields=[
            "email", "username", "first_name", "last_name", "password",
            "is_active", "is_staff", "is_superuser", "deleted_at",
        ]
    )
    transaction.on_commit(lambda: [storage.delete(name) for storage, name in files if name])
    return user

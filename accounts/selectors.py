from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import Profile, User, VerificationRequest


def _same_phone_or_vat(profile: Profile) -> Q:
    condition = Q(pk__in=[])
    if profile.phone:
        condition |= Q(phone=profile.phone)
    if profile.vat_number:
        condition |= Q(country=profile.country, vat_number=profile.vat_number)
    return condition


def verification_conflicts(profile: Profile) -> list[Profile]:
    """Verified profiles of other users that share this profile's phone or VAT number:
    while one exists, this profile cannot be verified."""
    return list(
        Profile.objects.filter(_same_phone_or_vat(profile), verified_at__isnull=False)
        .exclude(pk=profile.pk)
        .select_related("user")
    )


def verification_possible_duplicates(profile: Profile) -> QuerySet[Profile]:
    """Other profiles staff should look at before approving: same phone, same VAT number,
    or the same name in the same country, verified or not."""
    condition = _same_phone_or_vat(profile)
    name = profile.public_name
    if name and profile.country:
        condition |= Q(country=profile.country) & (
            Q(display_name__iexact=name) | Q(company_name__iexact=name)
        )
    return Profile.objects.filter(condition).exclude(pk=profile.pk).select_related("user").order_by("-verified_at")


def verification_requests_of(user: User) -> QuerySet[VerificationRequest]:
    return VerificationRequest.objects.filter(user=user).order_by("-created_at")


def verification_document_for(*, viewer: User, pk: int) -> VerificationRequest:
    """The request whose ID document the viewer filed. Staff open documents in the admin,
    where each opening is recorded (`document_access_record`); here everyone but the owner,
    and documents already deleted, get 404."""
    if not viewer.is_authenticated:
        raise Http404
    try:
        return VerificationRequest.objects.exclude(document="").get(pk=pk, user=viewer)
    except VerificationRequest.DoesNotExist:
        raise Http404 from None


def public_profile_for(username: str) -> Profile:
    """The public profile of an active account; suspended and deleted accounts do not exist here."""
    try:
        return Profile.objects.select_related("user").get(
            user__username__iexact=username, user__is_active=True, user__deleted_at__isnull=True
        )
    except Profile.DoesNotExist:
        raise Http404 from None


def name_fields(path: str) -> list[str]:
    """What `User.display_name` reads, for `.only()` on a query that joins the user at `path`
    (e.g. "author") with `select_related(f"{path}__profile")`: lists show names without loading
    every column of the account and profile."""
    return [f"{path}__{field}" for field in ("username", "first_name", "last_name", "deleted_at")] + [
        f"{path}__profile__user", f"{path}__profile__display_name"]

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django_countries.fields import CountryField
from phonenumber_field.modelfields import PhoneNumberField
from timezone_field import TimeZoneField

from accounts.languages import LANGUAGE_CHOICES, LANGUAGE_NAMES
from cadcam.storage import private_storage


class User(AbstractUser):
    """An account. Every account can hire and sell; e-mail is the login and the
    username is the public handle (/u/<username>/)."""

    email = models.EmailField("e-mail address", unique=True)
    suspended_at = models.DateTimeField(null=True, blank=True, editable=False)
    suspension_reason = models.TextField(blank=True, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["username"]

    objects = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        if self.deleted_at:
            return "deleted user"
        profile = getattr(self, "profile", None)
        return (profile and profile.display_name) or self.get_full_name() or self.username

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None


# Saves of an account that change nothing other people see of it: signing in, a new password.
_FIELDS_OTHERS_DO_NOT_SEE = frozenset({"last_login", "password"})


def changes_what_others_see(*, created: bool, update_fields) -> bool:
    """Whether a later save of a User or Profile (the arguments of post_save) may change what
    pages show of the person: their name, badge or account. Caches of such pages listen."""
    return not created and (update_fields is None or not set(update_fields) <= _FIELDS_OTHERS_DO_NOT_SEE)


def profile_photo_path(profile: "Profile", filename: str) -> str:
    return f"profiles/{profile.user_id}/{filename}"


# EU member states' VAT prefixes: the country code, except Greece (EL).
EU_VAT_PREFIXES = {code: code for code in (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "HR", "HU", "IE", "IT", "LT", "LU", "LV", "MT",
    "NL", "PL", "PT", "RO", "SE", "SI", "SK")} | {"GR": "EL"}


class Profile(models.Model):
    """What a user tells others about themselves, and what staff verify before they sell."""

    class AccountType(models.TextChoices):
        INDIVIDUAL = "individual", "Individual"
        COMPANY = "company", "Company"

    # The fields a profile needs before its owner can ask to be verified, with their labels.
    # The labels are the profile form's, so the checklist names what the user sees.
    REQUIRED_FOR_VERIFICATION = {
        "about": "About",
        "photo": "Profile photo",
        "languages": "Communication languages",
        "training": "Academic or professional training",
        "vat_number": "VAT or tax number",
        "phone": "Phone",
    }

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    display_name = models.CharField(max_length=80, blank=True, help_text="Shown to others instead of your name.")
    about = models.TextField(blank=True, max_length=3000)
    photo = models.ImageField(upload_to=profile_photo_path, blank=True)
    photo_thumbnail = models.ImageField(upload_to=profile_photo_path, blank=True, editable=False)
    languages = ArrayField(models.CharField(max_length=8, choices=LANGUAGE_CHOICES), default=list, blank=True)
    training = models.TextField("academic or professional training", blank=True, max_length=1500)
    country = CountryField(blank=True)
    account_type = models.CharField(max_length=12, choices=AccountType, default=AccountType.INDIVIDUAL)
    company_name = models.CharField(max_length=120, blank=True)
    # Stored compact (no spaces or punctuation) so that duplicates compare equal.
    vat_number = models.CharField("VAT or tax number", max_length=32, blank=True)
    phone = PhoneNumberField(blank=True)
    time_zone = TimeZoneField(default="UTC", use_pytz=False)
    terms_version = models.CharField(max_length=20, blank=True, editable=False)
    terms_accepted_at = models.DateTimeField(null=True, blank=True, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["phone"], name="accounts_profile_phone_idx"),
            models.Index(fields=["country", "vat_number"], name="accounts_profile_vat_idx"),
        ]
        constraints = [
            # One verified profile per person or business.
            models.UniqueConstraint(
                fields=["phone"],
                condition=models.Q(verified_at__isnull=False) & ~models.Q(phone=""),
                name="accounts_verified_unique_phone",
            ),
            models.UniqueConstraint(
                fields=["country", "vat_number"],
                condition=models.Q(verified_at__isnull=False) & ~models.Q(vat_number=""),
                name="accounts_verified_unique_vat",
            ),
        ]

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def public_name(self) -> str:
        if self.account_type == self.AccountType.COMPANY and self.company_name:
            return self.company_name
        return self.display_name or self.user.get_full_name() or self.user.username

    @property
    def vat_number_display(self) -> str:
        """The VAT number as EU invoices print it, with its country prefix ("DE136695976"; "EL"
        for Greece). It is stored without one, as the national format checks leave it."""
        if not self.vat_number:
            return ""
        code = str(self.country).upper()
        prefix = EU_VAT_PREFIXES.get(code)
        if prefix is None or self.vat_number.upper().startswith(prefix):
            return self.vat_number
        return prefix + self.vat_number

    @property
    def missing_for_verification(self) -> list[str]:
        return [label for field, label in self.REQUIRED_FOR_VERIFICATION.items() if not getattr(self, field)]

    @property
    def is_complete(self) -> bool:
        return not self.missing_for_verification

    @property
    def completeness_percent(self) -> int:
        required = len(self.REQUIRED_FOR_VERIFICATION)
        return round(100 * (required - len(self.missing_for_verification)) / required)

    @property
    def language_names(self) -> list[str]:
        return [LANGUAGE_NAMES.get(code, code) for code in self.languages]


def id_document_path(request: "VerificationRequest", filename: str) -> str:
    return f"id-documents/{request.user_id}/{filename}"


class VerificationRequest(models.Model):
    """A user's request to have their identity checked by staff, with the ID document."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending review"  # waiting for staff
        APPROVED = "approved", "Approved"  # profile verified
        REJECTED = "rejected", "Rejected"  # the user may file a new request

    class DocumentType(models.TextChoices):
        PASSPORT = "passport", "Passport"
        DRIVING_LICENCE = "driving_licence", "Driving licence"
        BUSINESS_PROOF = "business_proof", "Business ownership proof"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="verification_requests")
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING, editable=False)
    document_type = models.CharField(max_length=20, choices=DocumentType)
    # Private storage: never under MEDIA_URL; served to staff and the owner by a view.
    document = models.FileField(upload_to=id_document_path, storage=private_storage, blank=True)
    document_name = models.CharField(max_length=255, editable=False)
    document_sha256 = models.CharField(max_length=64, editable=False)
    document_deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    rejection_reason = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(status="pending"), name="accounts_one_pending_verification"
            ),
        ]

    def __str__(self) -> str:
        return f"Verification #{self.pk} of {self.user} ({self.get_status_display()})"


class DocumentAccess(models.Model):
    """A staff member opened a request's ID document (in the admin, the only place staff can).
    Kept with the request; listed on its admin page."""

    request = models.ForeignKey(VerificationRequest, on_delete=models.CASCADE, related_name="document_accesses")
    viewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    viewed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-viewed_at"]
        verbose_name_plural = "document accesses"

    def __str__(self) -> str:
        return f"{self.viewed_by} opened the document of verification #{self.request_id}"

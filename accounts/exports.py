"""The data a user can download about themselves (GDPR-style access request).

accounts writes what it holds (account, profile, verification history); every app above
that stores personal data registers its own section (accounts/registry.py)."""

from django.utils import timezone

from accounts.models import User
from accounts.registry import EXPORT_SECTIONS
from accounts.selectors import verification_requests_of


def account_export(*, user: User) -> dict:
    profile = getattr(user, "profile", None)
    return {
        "exported_at": timezone.now(),
        "account": {
            "email": user.email,
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
            "email_addresses": [
                {"email": address.email, "verified": address.verified, "primary": address.primary}
                for address in user.emailaddress_set.all()
            ],
        },
        "profile": profile
        and {
            "display_name": profile.display_name,
            "about": profile.about,
            "languages": profile.language_names,
            "training": profile.training,
            "country": str(profile.country.name) if profile.country else "",
            "account_type": profile.account_type,
            "company_name": profile.company_name,
            "vat_number": profile.vat_number,
            "phone": str(profile.phone) if profile.phone else "",
            "time_zone": str(profile.time_zone),
            "verified_at": profile.verified_at,
            "terms_version": profile.terms_version,
            "terms_accepted_at": profile.terms_accepted_at,
            "has_photo": bool(profile.photo),
        },
        "verification_requests": [
            {
                "created_at": item.created_at,
                "document_type": item.get_document_type_display(),
                "document_name": item.document_name,
                "document_sha256": item.document_sha256,
                "status": item.status,
                "decided_at": item.decided_at,
                "rejection_reason": item.rejection_reason,
                "document_deleted_at": item.document_deleted_at,
            }
            for item in verification_requests_of(user)
        ],
        **{name: section(user) for name, section in EXPORT_SECTIONS.items()},
    }

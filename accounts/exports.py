"""The data a user can download about themselves (GDPR-style access request).

Each feature that stores personal data adds its section here."""

from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.selectors import verification_requests_of
from orders.models import Order


def _payouts_section(user: User) -> dict:
    from payouts.models import Payout, PayoutAccount

    account = PayoutAccount.objects.filter(user=user).first()
    return {
        "account": account and {
            "bank_country": account.country.code,
            "state": account.state,
            "created_at": account.created_at,
        },
        "payouts": [
            {"order_id": payout.order_id, "amount_cents": payout.amount_cents, "currency": payout.currency,
             "status": payout.status, "due_at": payout.due_at, "transferred_at": payout.transferred_at,
             "paid_at": payout.paid_at}
            for payout in Payout.objects.filter(freelancer=user).order_by("pk")
        ],
    }


def _reviews_and_disputes(user: User) -> dict:
    from disputes.models import Dispute
    from reviews.models import Review

    return {
        "reviews_written": [
            {"order_id": review.order_id, "rating": review.rating, "comment": review.comment,
             "created_at": review.created_at, "reply": review.reply}
            for review in Review.objects.filter(author=user).order_by("pk")
        ],
        "disputes_opened": [
            {"order_id": dispute.order_id, "reason": dispute.reason, "description": dispute.description,
             "status": dispute.status, "opened_at": dispute.opened_at, "resolution_note": dispute.resolution_note}
            for dispute in Dispute.objects.filter(opened_by=user).order_by("pk")
        ],
    }


def _messages_section(user: User) -> list[dict]:
    from messaging.models import Message

    return [
        {"conversation_id": message.conversation_id, "body": message.body, "created_at": message.created_at,
         "attachments": [attachment.name for attachment in message.attachments.all()]}
        for message in Message.objects.filter(sender=user).prefetch_related("attachments").order_by("pk")
    ]


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
        "listings": [
            {
                "id": listing.pk,
                "title": listing.title,
                "status": listing.status,
                "category": listing.category.name,
                "description": listing.description,
                "price_cents": listing.price_cents,
                "currency": listing.currency,
                "created_at": listing.created_at,
                "published_at": listing.published_at,
            }
            for listing in user.listings.select_related("category").order_by("pk")
        ],
        "favorites": [favorite.listing.title for favorite in user.favorites.select_related("listing")],
        "orders": [
            {
                "id": order.pk,
                "role": "client" if order.employer_id == user.pk else "designer",
                "title": order.title,
                "status": order.status,
                "total_cents": order.total_cents,
                "currency": order.currency,
                "created_at": order.created_at,
                "instructions": order.instructions if order.employer_id == user.pk else "",
            }
            for order in Order.objects.filter(Q(employer=user) | Q(freelancer=user)).order_by("pk")
        ],
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
        "payouts": _payouts_section(user),
        **_reviews_and_disputes(user),
        "messages_sent": _messages_section(user),
    }

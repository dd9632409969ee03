"""Reads of reviews, with the double-blind rule in one place: a review is public once
revealed (`visible_at`) and not hidden; before that only its author sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from accounts.selectors import name_fields
from orders.models import Order
from reviews.models import Review, Role, UserRating
from reviews.services import review_window_closes_at, role_reviewed_by

PUBLIC_LIST_LIMIT = 20


def reviews_public() -> QuerySet[Review]:
    return Review.objects.filter(visible_at__isnull=False, hidden_at__isnull=True)


def reviews_of_listing(listing, *, limit: int = PUBLIC_LIST_LIMIT) -> list[Review]:
    """Clients' reviews of the designer on this listing's orders, newest first."""
    reviews = reviews_public().filter(order__listing=listing, subject_role=Role.FREELANCER)
    return list(reviews.select_related("author__profile").order_by("-visible_at", "-pk")[:limit])


def reviews_received_query(user) -> QuerySet[Review]:
    """What others said about this person, as designer and as client, newest first (all of
    it: the public profile pages through it)."""
    return reviews_public().filter(subject=user).order_by("-visible_at", "-pk")


def reviews_to_show(ids) -> list[Review]:
    """These reviews with what a profile shows of them and of their author and order."""
    return list(
        Review.objects.filter(pk__in=ids).select_related("author__profile", "order__listing")
        .only("rating", "comment", "reply", "replied_at", "created_at", "subject_role", "subject",
              *name_fields("author"), "order__title", "order__listing__is_private")
    )


def reviews_received_by(user, *, limit: int = PUBLIC_LIST_LIMIT) -> list[Review]:
    """The newest `limit` of `reviews_received_query`."""
    return list(reviews_received_query(user).select_related("author__profile", "order__listing")[:limit])


@dataclass(frozen=True)
class RoleRating:
    role: str
    label: str
    count: int
    average: object  # Decimal

    @property
    def is_rated(self) -> bool:
        return self.count > 0


def ratings_of(user) -> dict[str, RoleRating]:
    """The person's rating as designer ("freelancer") and as client ("employer"); 0 reviews when none."""
    stored = {rating.role: rating for rating in UserRating.objects.filter(user=user)}
    return {
        role: RoleRating(role=role, label=label, count=stored[role].count if role in stored else 0,
                         average=stored[role].average if role in stored else 0)
        for role, label in Role.choices
    }


@dataclass
class OrderReviews:
    """What the order page's review block shows to one viewer."""

    order: Order
    is_party: bool
    closes_at: datetime | None  # None: the order has not ended with money moved
    window_open: bool
    mine: Review | None  # the viewer's own review (also while blind)
    theirs: Review | None  # the other party's review of the viewer, once public
    other_reviewed: bool  # the other party has reviewed (blind or not)
    public: list[Review]  # for staff and anyone not a party: the public reviews
    reviewed_name: str = ""  # whom the viewer reviews

    @property
    def can_review(self) -> bool:
        return self.is_party and self.window_open and self.mine is None

    @property
    def waiting(self) -> bool:
        """The viewer reviewed; the other side's review is not shown yet."""
        return self.mine is not None and self.mine.visible_at is None

    @property
    def can_reply(self) -> bool:
        return self.theirs is not None and not self.theirs.replied_at

    @property
    def shown(self) -> bool:
        return self.closes_at is not None and (self.is_party or bool(self.public))


def order_reviews_for(order: Order, viewer, *, now: datetime | None = None) -> OrderReviews:
    now = now or timezone.now()
    closes = review_window_closes_at(order)
    reviews = list(order.reviews.select_related("author__profile", "subject__profile")) if closes is not None else []
    reviewed = role_reviewed_by(order, viewer) if viewer.is_authenticated else None
    mine = next((review for review in reviews if review.author_id == viewer.pk), None)
    other = next((review for review in reviews if review.author_id != viewer.pk), None) if reviewed else None
    return OrderReviews(
        order=order,
        is_party=reviewed is not None,
        closes_at=closes,
        window_open=closes is not None and now < closes,
        mine=mine,
        theirs=other if other is not None and other.is_visible else None,
        other_reviewed=other is not None,
        public=[review for review in reviews if review.is_visible] if reviewed is None else [],
        reviewed_name=reviewed[0].display_name if reviewed else "",
    )


def reviews_written_export(user) -> list[dict]:
    return [
        {"order_id": review.order_id, "rating": review.rating, "comment": review.comment,
         "created_at": review.created_at, "reply": review.reply}
        for review in Review.objects.filter(author=user).order_by("pk")
    ]

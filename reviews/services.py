"""Every change to reviews, and the ratings recomputed from them.

Locks are taken in one order everywhere: the order row, its reviews, the listing row, then
the people's rating rows by id. The ratings are recomputed from the reviews under those
locks (never incremented), so two reviews committed at the same time both count."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from accounts.models import User
from cadcam.emails import send_templated_email
from cadcam.errors import ApplicationError
from cadcam.staff import acting_as_staff
from listings import browse_cache
from listings.models import Listing
from orders.models import Order
from reviews.models import (
    COMMENT_MAX,
    COMMENT_MIN,
    REPLY_MAX,
    REPLY_MIN,
    REVIEW_WINDOW,
    Review,
    ReviewModeration,
    ReviewReminder,
    Role,
    UserRating,
)

ENDED_STATES = (Order.Status.COMPLETED, Order.Status.REFUNDED)
REMINDER_DAYS = (3, 10)


# --- rules ----------------------------------------------------------------------------------------


def review_window_closes_at(order: Order) -> datetime | None:
    """When the parties can no longer review (and blind reviews are revealed); None if not ended."""
    if order.status not in ENDED_STATES or order.ended_at is None:
        return None
    return order.ended_at + REVIEW_WINDOW


def review_window_is_open(order: Order, *, now: datetime | None = None) -> bool:
    closes = review_window_closes_at(order)
    return closes is not None and (now or timezone.now()) < closes


def role_reviewed_by(order: Order, user: User) -> tuple[User, str] | None:
    """Whom this user reviews on this order, and that person's role; None for anyone else."""
    if user.pk == order.employer_id:
        return order.freelancer, Role.FREELANCER
    if user.pk == order.freelancer_id:
        return order.employer, Role.EMPLOYER
    return None


def _clean_text(text: str, *, what: str, minimum: int, maximum: int) -> str:
    text = (text or "").strip()
    if len(text) < minimum:
        raise ApplicationError(f"Write at least {minimum} characters in your {what}.")
    if len(text) > maximum:
        raise ApplicationError(f"Your {what} can be at most {maximum} characters ({len(text)} now).")
    return text


# --- aggregates -----------------------------------------------------------------------------------


def _average(total: int, count: int) -> Decimal:
    if not count:
        return Decimal("0.00")
    return (Decimal(total) / Decimal(count)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _public(reviews):
    return reviews.filter(visible_at__isnull=False, hidden_at__isnull=True)


def _sum_and_count(reviews) -> tuple[int, int]:
    figures = _public(reviews).aggregate(total=Sum("rating"), count=Count("pk"))
    return figures["total"] or 0, figures["count"]


def ratings_recompute(*, listing_ids=(), people=()) -> None:
    """Recompute the ratings of these listings and (user id, role) pairs from their public
    reviews. Call inside the transaction that changed the reviews, after locking the order."""
    for listing in Listing.objects.select_for_update().filter(pk__in=set(listing_ids)).order_by("pk"):
        total, count = _sum_and_count(Review.objects.filter(order__listing=listing, subject_role=Role.FREELANCER))
        Listing.objects.filter(pk=listing.pk).update(rating_count=count, rating_avg=_average(total, count))
    if listing_ids:  # the cards show the ratings, and browse sorts and filters by them
        browse_cache.bump()
    for user_id, role in sorted(set(people)):
        UserRating.objects.bulk_create([UserRating(user_id=user_id, role=role)], ignore_conflicts=True)
        rating = UserRating.objects.select_for_update().get(user_id=user_id, role=role)
        total, count = _sum_and_count(Review.objects.filter(subject_id=user_id, subject_role=role))
        rating.count, rating.total, rating.average = count, total, _average(total, count)
        rating.save(update_fields=["count", "total", "average"])


def _recompute_for(order: Order, reviews) -> None:
    ratings_recompute(
        listing_ids=[order.listing_id] if any(r.subject_role == Role.FREELANCER for r in reviews) else [],
        people=[(review.subject_id, review.subject_role) for review in reviews],
    )


# --- the reviews ----------------------------------------------------------------------------------


def _lock_order(order: Order) -> Order:
    return Order.objects.select_for_update().get(pk=order.pk)


def _reveal(reviews: list[Review], now: datetime) -> list[Review]:
    """Make these reviews public now, and tell each reviewed person what was said about them
    (once: a review is revealed once; the e-mail leaves when the transaction commits)."""
    revealed = [review for review in reviews if review.visible_at is None]
    for review in revealed:
        review.visible_at = now
        review.save(update_fields=["visible_at"])
        subject = review.subject
        if subject.is_active and not subject.deleted_at and review.hidden_at is None:
            send_templated_email(to=subject.email, template="review_received",
                                 context={"review": review, "order": review.order, "recipient": subject})
    return revealed


@transaction.atomic
def review_create(*, order: Order, author: User, rating: int, comment: str, now: datetime | None = None) -> Review:
    """One review of the other party, while the window is open. When the other party has
    reviewed already, both reviews become visible now."""
    order = _lock_order(order)
    now = now or timezone.now()
    reviewed = role_reviewed_by(order, author)
    if reviewed is None:
        raise ApplicationError("Only the client and the designer of this order can review it.")
    closes = review_window_closes_at(order)
    if closes is None:
        raise ApplicationError("You can review once the order is completed or refunded.")
    if now >= closes:
        raise ApplicationError(f"The time to review this order ended on {timezone.localtime(closes):%-d %B %Y}.")
    if order.reviews.filter(author=author).exists():
        raise ApplicationError("You have already reviewed this order.")
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ApplicationError("Choose a rating from 1 to 5 stars.")
    comment = _clean_text(comment, what="review", minimum=COMMENT_MIN, maximum=COMMENT_MAX)
    subject, role = reviewed
    try:
        with transaction.atomic():
            review = Review.objects.create(
                order=order, author=author, subject=subject, subject_role=role, rating=rating, comment=comment
            )
    except IntegrityError:  # the same person's other request won the race (the order lock makes this rare)
        raise ApplicationError("You have already reviewed this order.") from None
    reviews = list(order.reviews.select_for_update().order_by("pk"))
    if len(reviews) == 2:
        _recompute_for(order, _reveal(reviews, now))
    return Review.objects.get(pk=review.pk)


@transaction.atomic
def review_reply(*, review: Review, by: User, text: str, now: datetime | None = None) -> Review:
    """The reviewed person's one public answer to a visible review."""
    review = Review.objects.select_for_update().get(pk=review.pk)
    if by.pk != review.subject_id:
        raise ApplicationError("Only the person who was reviewed can reply.")
    if review.visible_at is None:
        raise ApplicationError("You can reply once the review is visible.")
    if review.hidden_at is not None:
        raise ApplicationError("This review was hidden by our staff; it cannot be replied to.")
    if review.replied_at is not None:
        raise ApplicationError("You have already replied to this review.")
    review.reply = _clean_text(text, what="reply", minimum=REPLY_MIN, maximum=REPLY_MAX)
    review.replied_at = now or timezone.now()
    review.save(update_fields=["reply", "replied_at"])
    return review


def _lock_review_with_order(review: Review) -> Review:
    order = _lock_order(review.order)
    review = Review.objects.select_for_update().get(pk=review.pk)
    review.order = order
    return review


@transaction.atomic
def review_hide(*, review: Review, by: User, reason: str) -> Review:
    """Staff take a review down for breaking the terms: it leaves public pages and ratings;
    the reason is kept and sent to its author."""
    if not acting_as_staff(by):
        raise ApplicationError("Only staff can hide a review.")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Give the reason for hiding the review: its author reads it.")
    review = _lock_review_with_order(review)
    if review.hidden_at is not None:
        raise ApplicationError("This review is hidden already.")
    review.hidden_at, review.hidden_by, review.hidden_reason = timezone.now(), by, reason
    review.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
    ReviewModeration.objects.create(review=review, action=ReviewModeration.Action.HIDE, reason=reason, by=by)
    _recompute_for(review.order, [review])
    send_templated_email(to=review.author.email, template="review_hidden",
                         context={"review": review, "order": review.order, "reason": reason})
    return review


@transaction.atomic
def review_unhide(*, review: Review, by: User, reason: str = "") -> Review:
    """Staff show a hidden review again (e.g. after an appeal). The earlier reason stays in
    the moderation history."""
    if not acting_as_staff(by):
        raise ApplicationError("Only staff can show a hidden review again.")
    review = _lock_review_with_order(review)
    if review.hidden_at is None:
        raise ApplicationError("This review is not hidden.")
    review.hidden_at, review.hidden_by, review.hidden_reason = None, None, ""
    review.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
    ReviewModeration.objects.create(
        review=review, action=ReviewModeration.Action.UNHIDE, reason=(reason or "").strip(), by=by
    )
    _recompute_for(review.order, [review])
    return review


# --- the sweep: reveal by time and reminders ------------------------------------------------------


@dataclass
class ReviewSweepResult:
    revealed: list[int] = field(default_factory=list)  # review ids
    reminded: list[tuple[int, int, int]] = field(default_factory=list)  # (order id, user id, day)


@transaction.atomic
def reviews_reveal_order(*, order: Order, now: datetime | None = None) -> list[Review]:
    """Reveal the blind reviews of an order whose review window has ended. Nothing to do: []."""
    order = _lock_order(order)
    now = now or timezone.now()
    closes = review_window_closes_at(order)
    if closes is None or now < closes:
        return []
    revealed = _reveal(list(order.reviews.select_for_update().order_by("pk")), now)
    if revealed:
        _recompute_for(order, revealed)
    return revealed


def _ended_between(start: datetime, end: datetime):
    ended = Order.objects.filter(status__in=ENDED_STATES)
    return ended.filter(completed_at__gt=start, completed_at__lte=end) | ended.filter(
        completed_at__isnull=True, refunded_at__gt=start, refunded_at__lte=end
    )


def reviews_reveal_due(*, now: datetime | None = None) -> list[int]:
    """Reveal every blind review whose window has ended. Safe to run twice, or twice at once:
    orders another run holds are skipped and picked up next time."""
    now = now or timezone.now()
    order_ids = (
        Review.objects.filter(visible_at__isnull=True).values_list("order_id", flat=True).distinct().order_by()
    )
    revealed = []
    for order in Order.objects.filter(pk__in=list(order_ids)).order_by("pk"):
        if not review_window_is_open(order, now=now) and review_window_closes_at(order) is not None:
            with transaction.atomic():
                if Order.objects.select_for_update(skip_locked=True).filter(pk=order.pk).exists():
                    revealed += [review.pk for review in reviews_reveal_order(order=order, now=now)]
    return revealed


def _reminder_day_due(order: Order, now: datetime) -> int | None:
    """The latest reminder due now (3 or 10 days after the end), while the window is open."""
    if not review_window_is_open(order, now=now):
        return None
    age = now - order.ended_at
    due = [day for day in REMINDER_DAYS if age >= timedelta(days=day)]
    return due[-1] if due else None


@transaction.atomic
def review_reminders_send_for(*, order: Order, now: datetime | None = None) -> list[tuple[int, int, int]]:
    """E-mail each party who has not reviewed the reminder due now, once. A reminder missed
    (the sweep was down) is not sent late once the next one is due."""
    order = _lock_order(order)
    now = now or timezone.now()
    day = _reminder_day_due(order, now)
    if day is None:
        return []
    reviewed = set(order.reviews.values_list("author_id", flat=True))
    reminded = set(ReviewReminder.objects.filter(order=order, day=day).values_list("user_id", flat=True))
    sent = []
    closes = review_window_closes_at(order)
    for party in (order.employer, order.freelancer):
        if party.pk in reviewed or party.pk in reminded or not party.is_active or party.deleted_at:
            continue
        ReviewReminder.objects.create(order=order, user=party, day=day, sent_at=now)
        subject, role = role_reviewed_by(order, party)
        send_templated_email(
            to=party.email, template="review_reminder",
            context={"order": order, "recipient": party, "subject_user": subject, "subject_role": role,
                     "day": day, "closes_at": closes},
        )
        sent.append((order.pk, party.pk, day))
    return sent


def review_reminders_send(*, now: datetime | None = None) -> list[tuple[int, int, int]]:
    """Reminders due now, for orders that ended 3 to 14 days ago."""
    now = now or timezone.now()
    candidates = _ended_between(now - REVIEW_WINDOW, now - timedelta(days=REMINDER_DAYS[0]))
    sent = []
    for pk in candidates.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            order = Order.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if order is not None:
                sent += review_reminders_send_for(order=order, now=now)
    return sent


def reviews_sweep(*, now: datetime | None = None) -> ReviewSweepResult:
    now = now or timezone.now()
    return ReviewSweepResult(revealed=reviews_reveal_due(now=now), reminded=review_reminders_send(now=now))

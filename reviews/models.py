"""Mutual reviews after an order ends (completed or refunded).

Each party reviews the other once, within REVIEW_WINDOW of `order.ended_at`. A review is
blind (seen only by its author) until both have reviewed or the window ends; `visible_at`
records that moment. Staff may hide a review (the reason is kept in ReviewModeration).
Every change goes through reviews/services.py, which also recomputes the denormalized
ratings: `UserRating` here and `Listing.rating_count` / `rating_avg`."""

from datetime import timedelta

from django.conf import settings
from django.db import models

REVIEW_WINDOW = timedelta(days=14)
COMMENT_MIN, COMMENT_MAX = 10, 2000
REPLY_MIN, REPLY_MAX = 2, 1000


class Role(models.TextChoices):
    """The side of the order the reviewed person was on."""

    FREELANCER = "freelancer", "Designer"
    EMPLOYER = "employer", "Client"


class Review(models.Model):
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="reviews")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_written")
    subject = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_received")
    subject_role = models.CharField(max_length=10, choices=Role)
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(max_length=COMMENT_MAX)
    created_at = models.DateTimeField(auto_now_add=True)
    visible_at = models.DateTimeField(null=True, blank=True, help_text="Empty while the review is blind.")
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.TextField(blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reply = models.TextField(blank=True, max_length=REPLY_MAX)
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-visible_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["order", "author"], name="reviews_once_per_party"),
            models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5), name="reviews_rating_1_to_5"),
            models.CheckConstraint(condition=~models.Q(author=models.F("subject")), name="reviews_not_of_oneself"),
        ]
        indexes = [
            # The reveal sweep looks only at blind reviews.
            models.Index(fields=["order"], name="reviews_blind_idx", condition=models.Q(visible_at__isnull=True)),
            # Public lists: a person's reviews received, newest first.
            models.Index(fields=["subject", "-visible_at"], name="reviews_received_idx",
                         condition=models.Q(visible_at__isnull=False, hidden_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.rating}★ by {self.author} on order #{self.order_id}"

    @property
    def is_visible(self) -> bool:
        """Shown to everyone: revealed and not hidden by staff."""
        return self.visible_at is not None and self.hidden_at is None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class ReviewModeration(models.Model):
    """What staff did to a review and why: kept after an unhide."""

    class Action(models.TextChoices):
        HIDE = "hide", "Hidden"
        UNHIDE = "unhide", "Shown again"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="moderation")
    action = models.CharField(max_length=10, choices=Action)
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} review #{self.review_id}"


class UserRating(models.Model):
    """A person's rating in one role, from their visible, not hidden reviews. Recomputed by
    the services from the reviews (never incremented), so it cannot drift."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ratings")
    role = models.CharField(max_length=10, choices=Role)
    count = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0, help_text="Sum of the ratings.")
    average = models.DecimalField(max_digits=3, decimal_places=2, default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="reviews_one_rating_per_role")]

    def __str__(self) -> str:
        return f"{self.user} as {self.get_role_display().lower()}: {self.average} ({self.count})"


class ReviewReminder(models.Model):
    """A reminder e-mail sent to a party who had not reviewed, `day` days after the order ended."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="review_reminders")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "user", "day"], name="reviews_reminder_once")]

    def __str__(self) -> str:
        return f"Day-{self.day} reminder to {self.user} for order #{self.order_id}"

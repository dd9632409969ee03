"""The reviews a public profile shows, as HTML kept per review in the cache.

A review reads the same to everyone (dates in the viewer's time zone, which is part of its
key), so each one is rendered once and kept under its subject's token (cadcam/cache.py). The
token moves when anything such a review shows changes: the review itself (written, revealed,
answered, hidden, removed), the name of its author or of its subject, or a listing of the
subject (a listing made private changes how its reviews name the service). The receivers are
connected in ReviewsConfig.ready; reviews, accounts and listings are saved one by one by their
services, so no change escapes them."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Profile, User, changes_what_others_see
from cadcam.cache import bump_tokens, current_token, kept_many
from listings.models import Listing
from reviews.models import Review

# Short enough that a change whose token move was lost (Redis did not answer then) shows soon.
SECONDS = 600


def token_key(subject_id: int) -> str:
    return f"reviews:shown:token:{subject_id}"


def received_html(profile: Profile, ids, load) -> list[str]:
    """The HTML of the reviews of `profile`'s person with these ids, in order: kept ones from
    the cache, the others from `load(missing ids)` (reviews with what they show), rendered."""
    ids = list(ids)
    zone = timezone.get_current_timezone_name()
    token = current_token(token_key(profile.user_id))

    def render(missing) -> dict:
        # Read after the token: a name changed since `profile` was loaded must not be kept under it.
        fresh = Profile.objects.select_related("user").get(pk=profile.pk)
        return {review.pk: render_to_string("reviews/_received.html", {"review": review, "profile": fresh})
                for review in load(missing)}

    shown = kept_many({pk: f"reviews:shown:{pk}:{zone}" for pk in ids}, token, render, SECONDS)
    return [shown[pk] for pk in ids if pk in shown]


def changed_for(subject_ids) -> None:
    bump_tokens(*(token_key(subject_id) for subject_id in set(subject_ids)))


def _review_changed(sender, instance: Review, **kwargs) -> None:
    changed_for([instance.subject_id])


def _name_changed(user_id: int) -> None:
    """The person's name shows on the reviews about them and on those they wrote."""
    changed_for([user_id, *Review.objects.filter(author_id=user_id).values_list("subject_id", flat=True)])


def _account_changed(sender, instance, created=False, update_fields=None, **kwargs) -> None:
    if changes_what_others_see(created=created, update_fields=update_fields):
        _name_changed(instance.pk if isinstance(instance, User) else instance.user_id)


def _listing_changed(sender, instance: Listing, **kwargs) -> None:
    if instance.edit_of_id is None:
        changed_for([instance.owner_id])


def connect_signals() -> None:
    for signal in (post_save, post_delete):
        signal.connect(_review_changed, sender=Review, dispatch_uid="reviews_shown_review")
        signal.connect(_listing_changed, sender=Listing, dispatch_uid="reviews_shown_listing")
    for model in (User, Profile):
        post_save.connect(_account_changed, sender=model, dispatch_uid=f"reviews_shown_{model.__name__}")

"""Every change to a listing goes through here.

States: draft -> pending_review -> published | approved (owner not verified yet) |
rejected(reason); approved -> published when the owner is verified; published ->
expired (expiry date passed) | archived (owner). Rejected, archived and expired listings
can be edited and submitted again. A published listing is never edited in place: its
edit is a separate row (`edit_of`) that goes through review and replaces the live
content when approved."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.contrib.postgres.search import SearchVector
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Value
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image

from accounts.models import User
from cadcam.emails import send_templated_email
from cadcam.errors import ApplicationError, InvalidTransition
from cadcam.images import reencode_image, thumbnail
from listings.models import MAX_IMAGES, MAX_OPTIONS, Favorite, Listing, ListingImage, ListingOption
from listings.prechecks import listing_problems
from listings.selectors import SEARCH_CONFIG

S = Listing.Status

# action -> (states it may start from, state it leads to); None: decided by the action.
TRANSITIONS: dict[str, tuple[set[str], str | None]] = {
    "submit": ({S.DRAFT, S.REJECTED, S.ARCHIVED, S.EXPIRED, S.APPROVED}, S.PENDING_REVIEW),
    "approve": ({S.PENDING_REVIEW}, None),  # published, or approved while the owner is unverified
    "reject": ({S.PENDING_REVIEW}, S.REJECTED),
    "publish_verified": ({S.APPROVED}, S.PUBLISHED),
    "archive": ({S.PUBLISHED, S.APPROVED, S.PENDING_REVIEW, S.DRAFT, S.REJECTED, S.EXPIRED}, S.ARCHIVED),
    "expire": ({S.PUBLISHED}, S.EXPIRED),
}
# Content can be changed in place in these states; a published listing is edited through a copy.
EDITABLE_IN_PLACE = {S.DRAFT, S.PENDING_REVIEW, S.APPROVED, S.REJECTED, S.ARCHIVED, S.EXPIRED}

CONTENT_FIELDS = [
    "title", "category", "description", "revisions_included", "price_cents", "is_per_unit", "unit_name",
    "turnaround_days", "expires_on", "is_private",
]
CARD_THUMBNAIL = (640, 480)


class ListingNotReady(ApplicationError):
    """The listing fails its pre-checks; `problems` says each thing to fix."""

    def __init__(self, problems):
        super().__init__(" ".join(problem.message for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class OptionData:
    name: str
    price_cents: int


ACTION_WORDS = {
    "submit": "submitted for review",
    "approve": "approved",
    "reject": "rejected",
    "publish_verified": "published",
    "archive": "archived",
    "expire": "expired",
}


def _check(listing: Listing, action: str) -> str | None:
    allowed, target = TRANSITIONS[action]
    if listing.status not in allowed:
        raise InvalidTransition(
            f"This listing is {listing.get_status_display().lower()}: it cannot be {ACTION_WORDS[action]} now."
        )
    return target


def _lock(listing: Listing) -> Listing:
    return Listing.objects.select_for_update(of=("self",)).select_related("owner__profile").get(pk=listing.pk)


def listing_index(*, listing: Listing) -> None:
    """Refresh the full-text document: title weighs most, then category and software, then the description."""
    names = " ".join(listing.software.values_list("name", flat=True))
    Listing.objects.filter(pk=listing.pk).update(
        search_vector=SearchVector(Value(listing.title), weight="A", config=SEARCH_CONFIG)
        + SearchVector(Value(f"{listing.category.name} {names}"), weight="B", config=SEARCH_CONFIG)
        + SearchVector(Value(listing.description), weight="C", config=SEARCH_CONFIG)
    )


# --- content ----------------------------------------------------------------------------------


def _apply_content(listing: Listing, *, data: dict, software: Iterable, options: Sequence[OptionData],
                   recipients: Iterable[User]) -> None:
    if len(options) > MAX_OPTIONS:
        raise ApplicationError(f"A listing can have at most {MAX_OPTIONS} add-on options.")
    for field in CONTENT_FIELDS:
        if field in data:
            setattr(listing, field, data[field])
    listing.slug = slugify(listing.title)[:110] or "listing"
    if not listing.is_per_unit:
        listing.unit_name = ""
    if listing.pk:
        listing.save(update_fields=[*CONTENT_FIELDS, "slug", "status", "updated_at"])
    else:
        listing.save()
    listing.software.set(software)
    listing.recipients.set(recipients if listing.is_private else [])
    listing.options.all().delete()
    ListingOption.objects.bulk_create(
        ListingOption(listing=listing, name=option.name, price_cents=option.price_cents, position=position)
        for position, option in enumerate(options)
    )


@transaction.atomic
def listing_create(*, owner: User, data: dict, software: Iterable, options: Sequence[OptionData] = (),
                   recipients: Iterable[User] = (), images: Sequence = ()) -> Listing:
    listing = Listing(owner=owner, status=S.DRAFT)
    _apply_content(listing, data=data, software=software, options=options, recipients=recipients)
    listing_images_add(listing=listing, uploads=images)
    listing_index(listing=listing)
    return listing


@transaction.atomic
def listing_update(*, listing: Listing, by: User, data: dict, software: Iterable,
                   options: Sequence[OptionData] = (), recipients: Iterable[User] = ()) -> Listing:
    """Change the content. Returns the row that was changed: the listing itself, or for a
    published listing its edit copy, which then waits for review while the live version stays."""
    listing = _lock(listing)
    if listing.owner_id != by.pk:
        raise ApplicationError("Only the owner can edit this listing.")
    target = listing_edit_copy(listing=listing) if listing.is_live else listing
    if target.status not in EDITABLE_IN_PLACE:
        raise InvalidTransition("This listing cannot be edited now.")
    if target.status == S.APPROVED:
        target.status = S.DRAFT  # approved content changed: it needs a new review
    _apply_content(target, data=data, software=software, options=options, recipients=recipients)
    listing_index(listing=target)
    return target


@transaction.atomic
def listing_edit(*, listing: Listing, by: User, data: dict, software: Iterable, options: Sequence[OptionData] = (),
                 recipients: Iterable[User] = (), image_order: Sequence[int] = (), removed_images: Iterable[int] = (),
                 new_images: Sequence = ()) -> Listing:
    """Everything the edit page changes, at once: content, image order and removals (as places
    in the current list, 0 first), new images. Returns the row changed (see listing_update)."""
    target = listing_update(
        listing=listing, by=by, data=data, software=software, options=options, recipients=recipients
    )
    current = list(target.images.all())
    places = [place for place in image_order if 0 <= place < len(current)]
    listing_images_arrange(
        listing=target, by=by,
        order=[current[place].pk for place in places],
        remove=[current[place].pk for place in removed_images if 0 <= place < len(current)],
    )
    listing_images_add(listing=target, uploads=new_images)
    return target


def listing_edit_copy(*, listing: Listing) -> Listing:
    """The pending edit of a live listing, made as a copy of the live content if there is none."""
    existing = Listing.objects.filter(edit_of=listing).first()
    if existing:
        return existing
    copy = Listing(owner=listing.owner, edit_of=listing, status=S.DRAFT)
    for field in [*CONTENT_FIELDS, "slug"]:
        setattr(copy, field, getattr(listing, field))
    copy.save()
    copy.software.set(listing.software.all())
    copy.recipients.set(listing.recipients.all())
    ListingOption.objects.bulk_create(
        ListingOption(listing=copy, name=option.name, price_cents=option.price_cents, position=option.position)
        for option in listing.options.all()
    )
    for image in listing.images.all():
        _store_image(copy, position=image.position, original=image.image, thumbnail=image.thumbnail)
    return copy


# --- images -----------------------------------------------------------------------------------


def _store_image(listing: Listing, *, position: int, original, thumbnail) -> ListingImage:
    data = original.read()
    with Image.open(io.BytesIO(data)) as picture:
        width, height = picture.size
    image = ListingImage(listing=listing, position=position, width=width, height=height)
    image.image.save("image.jpg", ContentFile(data), save=False)
    image.thumbnail.save("thumb.jpg", ContentFile(thumbnail.read()), save=False)
    image.save()
    return image


def listing_images_add(*, listing: Listing, uploads: Sequence) -> None:
    """Re-encode (no metadata) and thumbnail each upload once; keep at most MAX_IMAGES."""
    count = listing.images.count()
    if count + len(uploads) > MAX_IMAGES:
        raise ApplicationError(f"A listing can have at most {MAX_IMAGES} images ({count} already).")
    for offset, upload in enumerate(uploads):
        _store_image(
            listing, position=count + offset,
            original=reencode_image(upload, max_side=2000),
            thumbnail=thumbnail(upload, size=CARD_THUMBNAIL),
        )


@transaction.atomic
def listing_images_arrange(*, listing: Listing, by: User, order: Sequence[int], remove: Iterable[int] = ()) -> None:
    """Put the images in the given order (the first is the cover) and delete the removed ones."""
    if listing.owner_id != by.pk:
        raise ApplicationError("Only the owner can change the images.")
    images = {image.pk: image for image in listing.images.select_for_update()}
    removed = {pk for pk in remove if pk in images}
    for pk in removed:
        images.pop(pk).delete()  # its files go once this commits (cadcam.storage.delete_files_on_commit)
    ordered = [pk for pk in order if pk in images] + [pk for pk in images if pk not in order]
    for position, pk in enumerate(ordered):
        if images[pk].position != position:
            images[pk].position = position
            images[pk].save(update_fields=["position"])


# --- review -----------------------------------------------------------------------------------


@transaction.atomic
def listing_submit(*, listing: Listing, by: User) -> Listing:
    listing = _lock(listing)
    if listing.owner_id != by.pk:
        raise ApplicationError("Only the owner can submit this listing.")
    if listing.is_live:
        listing = listing_edit_copy(listing=listing)
    target = _check(listing, "submit")
    problems = listing_problems(listing)
    if problems:
        raise ListingNotReady(problems)
    listing.status = target
    listing.submitted_at = timezone.now()
    listing.rejection_reason = ""
    listing.save(update_fields=["status", "submitted_at", "rejection_reason", "updated_at"])
    return listing


@transaction.atomic
def listing_approve(*, listing: Listing, by: User) -> Listing:
    """Staff approval. An edit replaces its live listing's content; a new listing goes live,
    or waits as `approved` until its owner is verified."""
    listing = _lock(listing)
    _check(listing, "approve")
    now = timezone.now()
    if listing.edit_of_id:
        live = _apply_edit(listing, by=by, now=now)
        _email_owner(live, "listing_approved")
        return live
    listing.status = S.PUBLISHED if listing.owner.profile.is_verified else S.APPROVED
    listing.reviewed_at, listing.reviewed_by = now, by
    if listing.status == S.PUBLISHED:
        listing.published_at = listing.published_at or now
    listing.save(update_fields=["status", "reviewed_at", "reviewed_by", "published_at", "updated_at"])
    _email_owner(listing, "listing_approved")
    return listing


def _apply_edit(edit: Listing, *, by: User, now) -> Listing:
    live = Listing.objects.select_for_update().get(pk=edit.edit_of_id)
    for field in [*CONTENT_FIELDS, "slug"]:
        setattr(live, field, getattr(edit, field))
    live.reviewed_at, live.reviewed_by = now, by
    live.save(update_fields=[*CONTENT_FIELDS, "slug", "reviewed_at", "reviewed_by", "updated_at"])
    live.software.set(edit.software.all())
    live.recipients.set(edit.recipients.all())
    live.options.all().delete()
    edit.options.update(listing=live)
    old_images = list(live.images.all())
    edit.images.update(listing=live)
    for image in old_images:
        image.delete()  # its files go once this commits (cadcam.storage.delete_files_on_commit)
    edit.delete()
    listing_index(listing=live)
    return live


@transaction.atomic
def listing_reject(*, listing: Listing, by: User, reason: str) -> Listing:
    reason = reason.strip()
    if not reason:
        raise ApplicationError("Give the reason for the rejection: the owner reads it.")
    listing = _lock(listing)
    listing.status = _check(listing, "reject")
    listing.rejection_reason = reason
    listing.reviewed_at, listing.reviewed_by = timezone.now(), by
    listing.save(update_fields=["status", "rejection_reason", "reviewed_at", "reviewed_by", "updated_at"])
    _email_owner(listing, "listing_rejected", reason=reason)
    return listing


def listings_publish_approved(*, owner: User) -> int:
    """Called when the owner is verified: their approved listings go live. Returns how many."""
    published = 0
    for listing in Listing.objects.select_for_update().filter(owner=owner, status=S.APPROVED, edit_of__isnull=True):
        listing.status = _check(listing, "publish_verified")
        listing.published_at = listing.published_at or timezone.now()
        listing.save(update_fields=["status", "published_at", "updated_at"])
        published += 1
    return published


@transaction.atomic
def listing_archive(*, listing: Listing, by: User) -> Listing:
    listing = _lock(listing)
    if listing.owner_id != by.pk:
        raise ApplicationError("Only the owner can archive this listing.")
    listing.status = _check(listing, "archive")
    listing.save(update_fields=["status", "updated_at"])
    Listing.objects.filter(edit_of=listing).delete()
    return listing


def listings_expire(*, today=None) -> int:
    """Published listings whose expiry date has passed become expired; owners are e-mailed.
    Each row is re-checked under its lock, so concurrent sweeps expire a listing once."""
    today = today or timezone.localdate()
    expired = 0
    due = Listing.objects.filter(status=S.PUBLISHED, expires_on__lt=today).values_list("pk", flat=True)
    for pk in due:
        with transaction.atomic():
            listing = (
                Listing.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=S.PUBLISHED, expires_on__lt=today)
                .first()
            )
            if listing is None:  # expired, changed or locked by another sweep meanwhile
                continue
            listing.status = _check(listing, "expire")
            listing.save(update_fields=["status", "updated_at"])
            _email_owner(listing, "listing_expired")
            expired += 1
    return expired


def _email_owner(listing: Listing, template: str, **context) -> None:
    send_templated_email(to=listing.owner.email, template=template, context={"listing": listing, **context})


def favorite_toggle(*, user: User, listing: Listing) -> bool:
    """Save or unsave a listing for the user; returns whether it is saved now."""
    deleted, _ = Favorite.objects.filter(user=user, listing=listing).delete()
    if deleted:
        return False
    Favorite.objects.get_or_create(user=user, listing=listing)
    return True

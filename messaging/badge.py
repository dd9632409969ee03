"""The unread badge: what moves a person's unread-count token (cadcam/cache.py), so the count
kept in the cache (messaging.selectors.unread_total) is counted afresh on their next page.

A message written or removed moves the tokens of everyone seated in its thread; a seat taken,
changed (its read pointer) or left moves its holder's. The receivers cover saves and deletes;
the services that write with queryset.update() or bulk_create() call `changed_for` themselves."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models.signals import post_delete, post_save

from cadcam.cache import bump_tokens
from messaging.models import Message, Participant


def token_key(user_id: int) -> str:
    return f"messaging:unread:token:{user_id}"


def changed_for(user_ids: Iterable[int]) -> None:
    bump_tokens(*(token_key(user_id) for user_id in set(user_ids)))


def _message_changed(sender, instance: Message, created=False, signal=None, **kwargs) -> None:
    """A message written or deleted; an edit of one leaves the counts as they are."""
    if created or signal is post_delete:
        changed_for(Participant.objects.filter(conversation_id=instance.conversation_id).values_list(
            "user_id", flat=True))


def _seat_changed(sender, instance: Participant, **kwargs) -> None:
    changed_for([instance.user_id])


def connect_signals() -> None:
    post_save.connect(_message_changed, sender=Message, dispatch_uid="messaging.unread.message_saved")
    post_delete.connect(_message_changed, sender=Message, dispatch_uid="messaging.unread.message_deleted")
    post_save.connect(_seat_changed, sender=Participant, dispatch_uid="messaging.unread.seat_saved")
    post_delete.connect(_seat_changed, sender=Participant, dispatch_uid="messaging.unread.seat_deleted")

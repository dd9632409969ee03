"""Whether someone sells: pages show seller things (their listings, orders received, earnings,
the verification reminder) only to people who have a listing or a payout account; everyone
else is offered one way in, "Start selling".

Asked on every signed-in page (the navigation), so the answer is kept in the cache per person
under a token of theirs (cadcam/cache.py) that moves when they create or delete a listing or
their payout account is made or removed."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.utils.functional import SimpleLazyObject

from cadcam.cache import bump_tokens, remembered
from listings.models import Listing
from payouts.models import PayoutAccount

SECONDS = 3600


def _token_key(user_id: int) -> str:
    return f"marketplace:sells:token:{user_id}"


def sells(user) -> bool:
    """A listing of theirs in any state, or a payout account."""
    if not user.is_authenticated:
        return False
    return remembered(
        f"marketplace:sells:{user.pk}", _token_key(user.pk),
        lambda: Listing.objects.filter(owner=user).exists() or PayoutAccount.objects.filter(user=user).exists(),
        SECONDS,
    )


def selling(request) -> dict:
    """Context processor: `sells`, asked only when a page uses it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"sells": SimpleLazyObject(lambda: sells(user))}


def _listing_changed(sender, instance: Listing, created=False, signal=None, **kwargs) -> None:
    if created or signal is post_delete:
        bump_tokens(_token_key(instance.owner_id))


def _account_changed(sender, instance: PayoutAccount, created=False, signal=None, **kwargs) -> None:
    if created or signal is post_delete:
        bump_tokens(_token_key(instance.user_id))


def connect_signals() -> None:
    for signal in (post_save, post_delete):
        signal.connect(_listing_changed, sender=Listing, dispatch_uid="marketplace_sells_listing")
        signal.connect(_account_changed, sender=PayoutAccount, dispatch_uid="marketplace_sells_account")

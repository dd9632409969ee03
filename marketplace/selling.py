"""Whether someone sells: pages show seller things (their listings, orders received, earnings,
the verification reminder) only to people who have a listing or a payout account; everyone
else is offered one way in, "Start selling".

Asked on every signed-in page (the navigation), so the answer is kept in the cache per person
under a token of theirs (cadcam/cache.py) that moves when they create or delete a listing or
their payout account is made or removed. `selling_steps` is what the "Start selling" page
shows: the four steps and where each stands for the person."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models.signals import post_delete, post_save
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from accounts.selectors import verification_requests_of
from cadcam.cache import bump_tokens, remembered
from cadcam.money import format_cents
from listings.models import MIN_PRICE_CENTS, Listing
from listings.selectors import listings_of_owner
from payments.fees import FEE_RATE, MINIMUM_FEE_CENTS
from payouts.models import PayoutAccount
from payouts.selectors import payout_account_of

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


@dataclass(frozen=True)
class SellingStep:
    title: str
    explanation: str
    done: bool
    url: str
    action: str
    waiting: str = ""  # started: where it stands (waiting for staff, details Stripe still needs)
    can_act: bool = True  # False while nothing is left for the person to do (staff decide)

    @property
    def open(self) -> bool:
        return not self.done and self.can_act


def selling_steps(user) -> list[SellingStep]:
    """What selling takes, for "Start selling": profile, identity, first listing, payouts, each
    with where it stands for `user` (done, waiting for staff, started)."""
    profile = user.profile
    account = payout_account_of(user)
    verification_waiting = not profile.is_verified and any(
        item.status == item.Status.PENDING for item in verification_requests_of(user))
    payouts_started = account is not None and not account.payouts_enabled
    return [
        SellingStep("Complete your profile", "A photo, what you do, your languages, country, phone and VAT number.",
                    profile.is_complete, reverse("accounts:profile"), "Complete your profile"),
        SellingStep("Verify your identity", "Our staff check an ID document once; verified sellers get a badge.",
                    profile.is_verified, reverse("accounts:verification"), "Verify your identity",
                    waiting="Your document is waiting for our staff; we e-mail you the decision."
                    if verification_waiting else "", can_act=not verification_waiting),
        SellingStep("Create your first listing",
                    f"Free, reviewed by our staff, from {format_cents(MIN_PRICE_CENTS)}; it can be private to "
                    "named clients.", listings_of_owner(user).exists(), reverse("listings:new"), "Create a listing"),
        SellingStep("Set up payouts", f"Your bank account through Stripe. We keep {FEE_RATE:.0%} of each order "
                    f"(at least {format_cents(MINIMUM_FEE_CENTS)}).",
                    account is not None and account.payouts_enabled, reverse("payouts:index"),
                    "Continue payout set-up" if payouts_started else "Set up payouts",
                    waiting=f"Started: {account.get_state_display().lower()}." if payouts_started else ""),
    ]


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

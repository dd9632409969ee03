"""Whom a seller may offer a private listing to: the people they have talked to or worked with.

Those people are known to messaging (conversations) and orders (the other party of an order),
and both stand above listings (docs/architecture.md), so listings cannot ask them. Instead
they register a *contact source* here from their AppConfig.ready():

- `source(user)` returns a queryset of one column, the ids of the people `user` has dealt
  with (`.values("user_id")`). It is used as a subquery, never evaluated on its own, so finding
  someone's contacts is one query however many sources there are and however many contacts
  they have.

messaging registers the people the user shares a direct or an order conversation with (one
with messages in it); orders registers the other party of every order the user sent or
received, once it was paid for. Keyed by name, so registering twice replaces.

The listing form lets a seller choose only among these people, plus whoever the listing is
already offered to; the picker's search (`recipient_choices`) lists them by name."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from accounts.models import Profile, User

CONTACT_SOURCES: dict[str, Callable[[User], QuerySet]] = {}

MATCHES_SHOWN = 10  # the search lists at most this many people
MAX_WORDS = 5  # of a search; more words only narrow an already narrow list

_NAME_FIELDS = ("username", "first_name", "last_name", "deleted_at", "profile__user", "profile__display_name",
                "profile__company_name", "profile__account_type")


def is_row_id(value) -> bool:
    """A row id as a browser sends it: ASCII digits, few enough for a bigint column."""
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18


def sent_ids(values, *, limit: int = 500) -> list[int]:
    """The row ids among sent values (anything else is dropped), at most `limit` of them."""
    return [int(value) for value in values if is_row_id(value)][:limit]


def register_contact_source(name: str, source: Callable[[User], QuerySet]) -> None:
    CONTACT_SOURCES[name] = source


def _known_to(user: User) -> Q:
    known = Q(pk__in=[])
    for source in CONTACT_SOURCES.values():
        known |= Q(pk__in=source(user))
    return known


def _reachable(users: QuerySet[User], owner: User) -> QuerySet[User]:
    """Active accounts other than the owner: nobody offers to themselves, a suspended or a
    deleted account."""
    return users.filter(is_active=True, deleted_at__isnull=True).exclude(pk=owner.pk)


def contacts_of(user: User) -> QuerySet[User]:
    """The active people the user has talked to or worked with (never the user)."""
    return _reachable(User.objects.filter(_known_to(user)), user)


def recipients_choosable(owner: User, *, current: QuerySet | None = None) -> QuerySet[User]:
    """Whom the owner may name as a private listing's clients: their contacts, and the people
    the listing is offered to already (`current`, a queryset of their ids), while active.
    A client kept from before stays choosable even if they are no longer a contact."""
    known = _known_to(owner)
    if current is not None:
        known |= Q(pk__in=current)
    return _reachable(User.objects.filter(known), owner)


def _matching(text: str) -> Q:
    """Every typed word in one of the names: display name, company, first or last name, handle."""
    condition = Q()
    for word in [word.lstrip("@") for word in text.split()][:MAX_WORDS]:
        if word:
            condition &= (
                Q(username__icontains=word) | Q(first_name__icontains=word) | Q(last_name__icontains=word)
                | Q(profile__display_name__icontains=word) | Q(profile__company_name__icontains=word)
            )
    return condition


@dataclass(frozen=True)
class Choice:
    """One person the picker lists, as a checkbox of the form's `recipients` field."""

    pk: int
    name: str  # the name others see (a company's name for a company account)
    person: str  # the person's own name, when it differs from `name` (at a company)
    handle: str
    checked: bool


@dataclass(frozen=True)
class RecipientChoices:
    chosen: list[Choice]  # the listing's clients and whoever is checked
    matches: list[Choice]  # the owner's other contacts that match the search
    query: str
    more: bool  # more contacts match than are shown

    @property
    def choices(self) -> list[Choice]:
        return self.chosen + self.matches


def _names(users: QuerySet[User]) -> QuerySet[User]:
    return users.select_related("profile").only(*_NAME_FIELDS)


def _name_and_person(user: User) -> tuple[str, str]:
    profile: Profile | None = getattr(user, "profile", None)
    person = user.display_name
    if profile is None:
        return person, ""
    name = profile.public_name
    return name, person if person != name else ""


def _choice(user: User, *, checked: bool) -> Choice:
    name, person = _name_and_person(user)
    return Choice(pk=user.pk, name=name, person=person, handle=user.username, checked=checked)


def recipient_choices(owner: User, *, current: QuerySet | None = None, checked: Collection[int] | None = None,
                      text: str = "") -> RecipientChoices:
    """What the client picker lists: first the clients already chosen (the listing's current
    ones, and whoever `checked` names, if the owner may choose them), checked as `checked` says
    (None: nothing was sent yet, so the current clients are checked); then, if `text` is
    given, up to MATCHES_SHOWN more of the owner's contacts whose names match it. Two queries
    at most, whatever the numbers."""
    text = " ".join(text.split())
    listed = Q(pk__in=list(checked or ()))
    if current is not None:
        listed |= Q(pk__in=current)
    chosen_users = list(_names(recipients_choosable(owner, current=current).filter(listed)))
    ticked = None if checked is None else set(checked)
    chosen = sorted(
        (_choice(user, checked=ticked is None or user.pk in ticked) for user in chosen_users),
        key=lambda choice: (choice.name.casefold(), choice.handle),
    )
    matches: list[Choice] = []
    more = False
    if text:
        found = list(
            _names(contacts_of(owner).filter(_matching(text)).exclude(pk__in=[user.pk for user in chosen_users]))
            .order_by("username")[: MATCHES_SHOWN + 1]
        )
        more = len(found) > MATCHES_SHOWN
        matches = sorted((_choice(user, checked=False) for user in found[:MATCHES_SHOWN]),
                         key=lambda choice: (choice.name.casefold(), choice.handle))
    return RecipientChoices(chosen=chosen, matches=matches, query=text, more=more)


def contact_example(owner: User) -> str:
    """The name of one of the owner's contacts, for the search box's hint ("" if they have none)."""
    user = _names(contacts_of(owner)).order_by("username").first()
    return _name_and_person(user)[0] if user else ""

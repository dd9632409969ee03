"""Automatic checks a listing must pass before it goes to staff review.

Contact details in a listing would let people arrange work (and payment) outside the
platform, where neither side is protected; so titles and descriptions may not carry
addresses, links, phone numbers or social handles. Each problem has its own message."""

from __future__ import annotations

import re
from dataclasses import dataclass

from listings.models import MAX_IMAGES, MIN_PRICE_CENTS, Listing

MIN_DESCRIPTION = 150
MIN_IMAGE_SIZE = (800, 600)

_TLDS = (
    "com|net|org|info|biz|io|co|me|app|dev|xyz|online|site|shop|store|link|ly|gl|gg|tv|"
    "de|uk|fr|it|es|nl|pl|ru|ch|at|be|se|no|dk|fi|pt|cz|gr|tr|ua|ro|hu|ie|"
    "us|ca|mx|br|ar|cl|au|nz|jp|cn|kr|in|sg|hk|ae|sa|za|eu|asia"
)
EMAIL = re.compile(r"[\w.+-]+\s*(@|\(at\)|\[at\])\s*[\w-]+(\.[\w-]+)+", re.IGNORECASE)
URL = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)
DOMAIN = re.compile(rf"\b[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)*\.({_TLDS})\b(/\S*)?", re.IGNORECASE)
PHONE = re.compile(r"(?<![\w.])\+?\(?\d[\d\s().-]{6,}\d(?![\w.])")
HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_.]{3,}")
MESSENGERS = re.compile(
    r"\b(whats\s?app|telegram|viber|wechat|skype|signal app|instagram|insta|facebook|fb\.me|linkedin|"
    r"tiktok|twitter|snapchat|discord)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


CONTACT_STAYS_HERE = "people contact you through CadCam Masters messages."


def _text_problems(field: str, label: str, text: str) -> list[Problem]:
    problems = []
    if EMAIL.search(text):
        problems.append(Problem(field, f"The {label} contains an e-mail address. Remove it: {CONTACT_STAYS_HERE}"))
    without_emails = EMAIL.sub(" ", text)
    if URL.search(without_emails) or DOMAIN.search(without_emails):
        problems.append(
            Problem(field, f"The {label} contains a web address or domain name. Remove it: no links to other sites.")
        )
    if any(sum(char.isdigit() for char in match.group(0)) >= 8 for match in PHONE.finditer(text)):
        problems.append(Problem(field, f"The {label} contains a phone number. Remove it: {CONTACT_STAYS_HERE}"))
    if HANDLE.search(without_emails) or MESSENGERS.search(text):
        problems.append(
            Problem(field, f"The {label} mentions a social media handle or messenger. Remove it: {CONTACT_STAYS_HERE}")
        )
    return problems


def text_problems(*, title: str, description: str) -> list[Problem]:
    problems = _text_problems("title", "title", title) + _text_problems("description", "description", description)
    if len(description.strip()) < MIN_DESCRIPTION:
        problems.append(
            Problem("description", f"The description is too short: write at least {MIN_DESCRIPTION} characters "
                    f"(now {len(description.strip())}).")
        )
    return problems


def listing_problems(listing: Listing) -> list[Problem]:
    """Everything that stops this listing from being submitted for review."""
    problems = text_problems(title=listing.title, description=listing.description)
    if listing.price_cents < MIN_PRICE_CENTS:
        problems.append(Problem("price_cents", "The price is below the minimum of $7.00."))
    if not listing.software.exists():
        problems.append(Problem("software", "Choose at least one CAD software you design with."))
    images = list(listing.images.all())
    if not images:
        problems.append(Problem("images", "Add at least one image (the first one is the cover)."))
    if len(images) > MAX_IMAGES:
        problems.append(Problem("images", f"A listing can have at most {MAX_IMAGES} images."))
    small = [str(number) for number, image in enumerate(images, start=1)
             if image.width < MIN_IMAGE_SIZE[0] or image.height < MIN_IMAGE_SIZE[1]]
    if small:
        problems.append(Problem("images", f"Image {', '.join(small)} is too small: images must be at least "
                                f"{MIN_IMAGE_SIZE[0]}x{MIN_IMAGE_SIZE[1]} pixels."))
    if listing.is_private and not listing.recipients.exists():
        problems.append(Problem("recipients", "A private listing needs at least one client to offer it to."))
    if listing.is_per_unit and not listing.unit_name.strip():
        problems.append(Problem("unit_name", 'Name the unit you price per (e.g. "tooth").'))
    return problems

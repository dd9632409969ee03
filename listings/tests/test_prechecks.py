import pytest

from listings.prechecks import listing_problems, text_problems
from listings.tests.helpers import DESCRIPTION, make_draft, make_verified_seller

LONG = DESCRIPTION


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("Crowns - mail joe@example.com", "The title contains an e-mail address."),
        ("Crowns - joe (at) example.com", "The title contains an e-mail address."),
        ("Crowns at https://mylab.example", "The title contains a web address or domain name."),
        ("Crowns, see www.mylab.de", "The title contains a web address or domain name."),
        ("Crowns by mylab.com", "The title contains a web address or domain name."),
        ("Crowns, call +49 30 901820", "The title contains a phone number."),
        ("Crowns, call 0049-30-9018-20", "The title contains a phone number."),
        ("Crowns - follow @cadking", "The title mentions a social media handle or messenger."),
        ("Crowns - ask on WhatsApp", "The title mentions a social media handle or messenger."),
    ],
)
def test_contact_details_in_the_title_are_named(title, message):
    messages = [problem.message for problem in text_problems(title=title, description=LONG)]

    assert any(text.startswith(message) for text in messages), messages


def test_the_description_is_checked_too():
    problems = text_problems(title="Crowns", description=LONG + " Write to me: joe@example.com")

    assert [(problem.field, problem.message.split(".")[0]) for problem in problems] == [
        ("description", "The description contains an e-mail address")
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Zirconia crown 2.5 mm wall, 0.8mm cement gap, teeth 11-13 and 21-23",
        "Express 24 h for $38.78, ISO 13485 lab since 2012, 1000 units a month",
        "e.max press 3.5x3.5 mm connectors; All-on-4 bar on 4.3 mm Nobel multi-units",
    ],
)
def test_ordinary_dental_text_passes(text):
    assert text_problems(title="Crowns", description=f"{LONG} {text}") == []


def test_short_description_says_how_long_it_is():
    problems = text_problems(title="Crowns", description="Too short")

    assert [problem.message for problem in problems] == [
        "The description is too short: write at least 150 characters (now 9)."
    ]


@pytest.mark.django_db
def test_listing_level_checks_name_each_problem():
    owner = make_verified_seller()
    listing = make_draft(owner, software=(), images=0, is_per_unit=True, unit_name="", is_private=True)

    messages = [problem.message for problem in listing_problems(listing)]

    assert "Choose at least one CAD software you design with." in messages
    assert "Add at least one image (the first one is the cover)." in messages
    assert "A private listing needs at least one client to offer it to." in messages


@pytest.mark.django_db
def test_small_images_are_named_by_number():
    from listings.models import ListingImage

    listing = make_draft(make_verified_seller(), images=2)
    ListingImage.objects.filter(listing=listing, position=1).update(width=640, height=480)

    messages = [problem.message for problem in listing_problems(listing)]

    assert "Image 2 is too small: images must be at least 800x600 pixels." in messages


@pytest.mark.django_db
def test_a_complete_listing_passes():
    assert listing_problems(make_draft(make_verified_seller())) == []

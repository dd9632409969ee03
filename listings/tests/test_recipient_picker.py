"""Choosing a private listing's clients: the picker on the listing form, its search, and the
checks on what a seller sends.

Who a seller has talked to or worked with is known to messaging and orders, which stand above
listings; they register contact sources (listings/contacts.py). These tests replace the
registry with one source they control (`Acquaintances`), so they need neither app; the real
sources are tested in messaging/tests/test_contacts.py and orders/tests/test_contacts.py."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.services import profile_update, user_delete, user_suspend
from accounts.tests.helpers import PASSWORD, make_user
from listings import contacts
from listings.models import Listing
from listings.services import listing_approve, listing_submit
from listings.tests.helpers import make_draft, make_published, make_verified_seller
from listings.tests.test_listing_form import form_data

pytestmark = pytest.mark.django_db

NOT_A_CONTACT = ("You can choose only people you have talked to or worked with. To offer this listing to someone "
                 "new, send them a message first.")


class Acquaintances:
    """A contact source: who has dealt with whom, as messaging and orders would tell."""

    def __init__(self):
        self.pairs: set[tuple[int, int]] = set()

    def meet(self, user, *others):
        for other in others:
            self.pairs |= {(user.pk, other.pk), (other.pk, user.pk)}

    def __call__(self, user):
        from accounts.models import User

        return User.objects.filter(pk__in=[b for a, b in self.pairs if a == user.pk] or [0]).values("pk")


@pytest.fixture
def acquaintances(monkeypatch):
    source = Acquaintances()
    monkeypatch.setattr(contacts, "CONTACT_SOURCES", {"test": source})
    return source


def person(*, username, display_name="", company_name="", first_name="", last_name=""):
    user = make_user(username=username)
    if first_name or last_name:
        user.first_name, user.last_name = first_name, last_name
        user.save(update_fields=["first_name", "last_name"])
    data = {"display_name": display_name}
    if company_name:
        data.update(account_type="company", company_name=company_name)
    profile_update(profile=user.profile, data=data)
    user.refresh_from_db()
    return user


@pytest.fixture
def seller():
    return make_verified_seller()


@pytest.fixture
def lab(seller, acquaintances):
    lab = person(username="lab-berlin", company_name="Dental Lab Berlin", display_name="Anna Weber")
    acquaintances.meet(seller, lab)
    return lab


@pytest.fixture
def clinic(seller, acquaintances):
    clinic = person(username="brightsmile", display_name="Bright Smile Clinic")
    acquaintances.meet(seller, clinic)
    return clinic


def text(response) -> str:
    return response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')


def checkboxes(html: str) -> dict[int, bool]:
    """The `recipients` checkboxes of a page: id -> checked."""
    return {int(value): bool(checked) for value, checked in
            re.findall(r'name="recipients" value="(\d+)" id="recipient-\d+"( checked)?', html)}


def post_private(client, listing=None, **changes):
    url = reverse("listings:edit", args=[listing.pk]) if listing else reverse("listings:new")
    return client.post(url, form_data(is_private="on", action="save", **changes))


# --- the form -------------------------------------------------------------------------------------------------


def test_the_form_shows_the_clients_checked_with_name_and_handle_and_a_search_box(client, seller, lab, clinic):
    listing = make_draft(seller, is_private=True, recipients=[lab])
    client.force_login(seller)

    html = text(client.get(reverse("listings:edit", args=[listing.pk])))

    assert checkboxes(html) == {lab.pk: True}
    assert "Dental Lab Berlin (Anna Weber) <span class=\"text-body-secondary\">@lab-berlin</span>" in html
    search = re.search(r'<input[^>]*id="recipient-search"[^>]*>', html, re.S).group(0)
    assert f'hx-get="{reverse("listings:recipient_search_for", args=[listing.pk])}"' in search
    assert 'hx-trigger="input changed delay:250ms, search"' in search
    assert 'hx-target="#recipient-choices"' in search
    assert "<script>" not in html and " onclick=" not in html and " onkeydown=" not in html


def test_the_hint_names_one_of_the_sellers_own_contacts(client, seller, clinic):
    client.force_login(seller)

    html = text(client.get(reverse("listings:new")))

    assert "Type part of a name, e.g. “Bright Smile Clinic”" in html
    assert 'placeholder="e.g. Bright Smile Clinic"' in html
    assert "to offer this listing to someone new, send them a message first" in html


def test_a_seller_with_no_contacts_is_told_how_to_get_one(client, seller, acquaintances):
    client.force_login(seller)

    html = text(client.get(reverse("listings:new")))

    assert "there is nobody yet" in html
    assert "send them a message first" in html
    assert checkboxes(html) == {}


def test_checking_a_contact_and_saving_makes_them_a_client(client, seller, lab, clinic):
    client.force_login(seller)

    response = post_private(client, recipients=[str(lab.pk), str(clinic.pk)])

    assert response.status_code == 302
    listing = Listing.objects.get(owner=seller)
    assert listing.is_private
    assert set(listing.recipients.all()) == {lab, clinic}


def test_unchecking_a_client_removes_them(client, seller, lab, clinic):
    listing = make_draft(seller, is_private=True, recipients=[lab, clinic])
    client.force_login(seller)

    post_private(client, listing, recipients=[str(clinic.pk)])

    assert list(listing.recipients.all()) == [clinic]


def test_a_client_kept_from_before_stays_choosable_though_no_longer_a_contact(client, seller, acquaintances):
    old_client = make_user()  # offered to before the picker existed (or the conversation is gone)
    listing = make_draft(seller, is_private=True, recipients=[old_client])
    client.force_login(seller)

    response = post_private(client, listing, recipients=[str(old_client.pk)], title="Renamed private offer")

    assert response.status_code == 302
    listing.refresh_from_db()
    assert listing.title == "Renamed private offer"
    assert list(listing.recipients.all()) == [old_client]


def _inactive(user):
    user_suspend(user=user, by=make_user(is_staff=True), reason="Fraud")
    return user


def _deleted(user):
    return user_delete(user=user, password=PASSWORD)


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("stranger", NOT_A_CONTACT),
        ("someone_elses_contact", NOT_A_CONTACT),
        ("self", "You cannot offer a private listing to yourself."),
        ("suspended_contact", NOT_A_CONTACT),
        ("deleted_contact", NOT_A_CONTACT),
        ("no_such_id", NOT_A_CONTACT),
        ("abc", "“abc” is not a client you can choose: pick your clients from the list."),
        ("-3", "“-3” is not a client you can choose: pick your clients from the list."),
        ("huge", "is not a client you can choose: pick your clients from the list."),
    ],
)
def test_a_tampered_client_id_is_refused_with_a_message_and_nothing_changes(
    client, seller, lab, acquaintances, who, message
):
    listing = make_draft(seller, is_private=True, recipients=[lab])
    other_seller = make_user()
    their_contact = make_user()
    acquaintances.meet(other_seller, their_contact)
    gone = make_user()
    acquaintances.meet(seller, gone)
    sent = {
        "stranger": lambda: make_user().pk,
        "someone_elses_contact": lambda: their_contact.pk,
        "self": lambda: seller.pk,
        "suspended_contact": lambda: _inactive(gone).pk,
        "deleted_contact": lambda: _deleted(gone).pk,
        "no_such_id": lambda: 987654321,
        "abc": lambda: "abc",
        "-3": lambda: "-3",
        "huge": lambda: "9" * 30,
    }[who]()
    client.force_login(seller)

    response = post_private(client, listing, recipients=[str(lab.pk), str(sent)], title="Changed title")

    assert response.status_code == 200
    assert message in text(response)
    listing.refresh_from_db()
    assert listing.title != "Changed title"
    assert list(listing.recipients.all()) == [lab]


def test_a_private_listing_needs_a_client(client, seller, lab):
    listing = make_draft(seller, is_private=True, recipients=[lab])
    client.force_login(seller)

    response = post_private(client, listing)

    assert "Choose at least one client for a private listing." in text(response)
    assert list(listing.recipients.all()) == [lab]


def test_without_javascript_the_chosen_clients_stay_checked_after_another_error(client, seller, lab, clinic):
    listing = make_draft(seller, is_private=True, recipients=[lab])
    client.force_login(seller)

    # The seller unchecked the lab, checked the clinic (found by a search), and mistyped the price.
    response = post_private(client, listing, recipients=[str(clinic.pk)], price_cents="abc")

    html = text(response)
    assert "Enter a number." in html
    assert checkboxes(html) == {clinic.pk: True, lab.pk: False}
    assert list(listing.recipients.all()) == [lab]


def test_editing_a_live_private_listing_changes_its_clients_through_review(client, seller, lab, clinic):
    listing = make_published(seller, is_private=True, recipients=[lab])
    client.force_login(seller)

    response = post_private(client, listing, recipients=[str(lab.pk), str(clinic.pk)])

    assert response.status_code == 302
    edit = Listing.objects.get(edit_of=listing)
    assert set(edit.recipients.all()) == {lab, clinic}
    assert list(listing.recipients.all()) == [lab]  # the live version is offered to the lab alone until approved
    # The edit page and the search show the pending edit's clients.
    assert checkboxes(text(client.get(reverse("listings:edit", args=[listing.pk])))) == {lab.pk: True, clinic.pk: True}
    search = client.get(reverse("listings:recipient_search_for", args=[listing.pk]))
    assert checkboxes(text(search)) == {lab.pk: False, clinic.pk: False}  # nothing sent as checked

    listing_submit(listing=listing, by=seller)
    listing_approve(listing=edit, by=make_user(is_staff=True))

    assert set(listing.recipients.all()) == {lab, clinic}


# --- the search ---------------------------------------------------------------------------------------------


def search(client, query, *, listing=None, checked=()):
    url = reverse("listings:recipient_search_for", args=[listing.pk]) if listing else reverse(
        "listings:recipient_search")
    return client.get(url, {"q": query, "recipients": [str(pk) for pk in checked]}, HTTP_HX_REQUEST="true")


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("berlin", {"lab"}),  # company name
        ("DENTAL lab", {"lab"}),  # case-insensitive, every word
        ("anna", {"lab"}),  # the person's display name at a company
        ("smile", {"clinic"}),  # display name
        ("@bright", {"clinic"}),  # handle, with or without @
        ("marsh", {"elena"}),  # last name
        ("elena", {"elena"}),  # first name
        ("e", {"lab", "clinic", "elena"}),
        ("nobody", set()),
    ],
)
def test_the_search_finds_the_sellers_contacts_by_any_of_their_names(client, seller, lab, clinic, acquaintances,
                                                                      query, found):
    elena = person(username="emarsh", first_name="Elena", last_name="Marsh")
    acquaintances.meet(seller, elena)
    client.force_login(seller)

    response = search(client, query)

    assert response.status_code == 200
    people = {"lab": lab.pk, "clinic": clinic.pk, "elena": elena.pk}
    assert checkboxes(text(response)) == {people[name]: False for name in found}
    if not found:
        assert "Nobody you have talked to or worked with matches “nobody”." in text(response)


def test_the_search_never_shows_anyone_but_the_sellers_own_contacts(client, seller, lab, acquaintances):
    other_seller = make_user()
    their_lab = person(username="berlin-dental", company_name="Berlin Dental Studio")
    acquaintances.meet(other_seller, their_lab)
    person(username="berlin-stranger", display_name="Berlin Stranger")
    suspended = _inactive(person(username="berlin-suspended", display_name="Berlin Suspended"))
    acquaintances.meet(seller, suspended)
    client.force_login(seller)

    html = text(search(client, "berlin"))

    assert checkboxes(html) == {lab.pk: False}
    assert "Berlin Dental Studio" not in html and "Stranger" not in html and "Suspended" not in html


def test_the_search_keeps_the_boxes_checked_on_the_page_and_drops_forged_ones(client, seller, lab, clinic):
    client.force_login(seller)
    stranger = person(username="berlin-stranger", display_name="Berlin Stranger")

    html = text(search(client, "smile", checked=[lab.pk, stranger.pk, seller.pk]))

    assert checkboxes(html) == {lab.pk: True, clinic.pk: False}
    assert "Berlin Stranger" not in html


def test_the_search_lists_ten_people_at_most(client, seller, acquaintances):
    for number in range(12):
        acquaintances.meet(seller, person(username=f"lab{number:02}", company_name=f"Crown Lab {number}"))
    client.force_login(seller)

    html = text(search(client, "crown lab"))

    assert len(checkboxes(html)) == contacts.MATCHES_SHOWN
    assert "More people match: type more of the name to see them." in html


def test_the_search_costs_the_same_queries_for_two_contacts_or_twelve(client, seller, acquaintances):
    listing = make_draft(seller, is_private=True, recipients=[])
    for number in range(2):
        acquaintances.meet(seller, person(username=f"few{number}", company_name=f"Crown Lab {number}"))
    client.force_login(seller)
    search(client, "crown", listing=listing)  # the session is warm
    with CaptureQueriesContext(connection) as few:
        search(client, "crown", listing=listing, checked=[])
    checked = []
    for number in range(10):
        other = person(username=f"many{number}", company_name=f"Crown Lab {number + 2}")
        acquaintances.meet(seller, other)
        checked.append(other.pk)

    with CaptureQueriesContext(connection) as many:
        response = search(client, "crown", listing=listing, checked=checked[:5])

    assert len(checkboxes(text(response))) == 12
    assert len(many) == len(few) <= 7, [query["sql"] for query in many]


def test_the_search_is_for_signed_in_sellers_and_their_own_listings(client, seller, lab):
    listing = make_draft(seller, is_private=True, recipients=[lab])
    someone_elses = make_draft(make_verified_seller(), is_private=True, recipients=[lab])

    anonymous = client.get(reverse("listings:recipient_search"), {"q": "berlin"})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]

    client.force_login(seller)
    assert search(client, "berlin", listing=someone_elses).status_code == 404
    assert client.get("/listings/987654/recipients/").status_code == 404
    assert client.post(reverse("listings:recipient_search_for", args=[listing.pk])).status_code == 405
    assert search(client, "berlin\x00").status_code == 400  # cadcam.middleware: never a 500


def test_the_example_and_the_search_leave_out_the_seller(client, seller, acquaintances):
    acquaintances.meet(seller, seller)
    client.force_login(seller)

    assert checkboxes(text(search(client, seller.username))) == {}
    assert "there is nobody yet" in text(client.get(reverse("listings:new")))

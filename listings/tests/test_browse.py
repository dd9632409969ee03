"""Browse and search: prefix matching, ranking, filters, sorts, pagination, the htmx
fragment, escaping, the number of queries, and saving listings as favorites."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Profile
from accounts.tests.helpers import make_user
from listings.models import Category, Favorite, Listing
from listings.services import favorite_toggle, listing_archive
from listings.tests.helpers import make_published, make_verified_seller
from listings.views import PAGE_SIZE

pytestmark = pytest.mark.django_db

BROWSE = reverse("listings:browse")
# None of the words searched for below appear here, nor in the category "Models & Dies" or
# the software "exocad DentalCAD", which are indexed too.
NEUTRAL = (
    "Careful design work by an experienced dental technician. Send your scans with the case notes and "
    "receive the finished files, ready to mill or print, within the agreed time."
)
SCRIPT = "<script>alert(1)</script>"
NEXT_LINK = re.compile(r'<a class="page-link" href="\?([^"]*)">Next</a>')
PREVIOUS_LINK = re.compile(r'<a class="page-link" href="\?([^"]*)">Previous</a>')


@pytest.fixture
def seller():
    return make_verified_seller()


def publish(title: str, *, category: str = "models-dies", description: str = NEUTRAL, **kwargs) -> Listing:
    return make_published(title=title, category=Category.objects.get(slug=category), description=description, **kwargs)


def titles(response) -> list[str]:
    assert response.status_code == 200
    return [listing.title for listing in response.context["page"].object_list]


def browse(client, **params):
    return client.get(BROWSE, params)


# --- search -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("zirc", {"Zirconia crown"}),
        ("ZIRC", {"Zirconia crown"}),
        ("cro", {"Zirconia crown", "Anterior crowns in lithium disilicate"}),
        ("crowns", {"Zirconia crown", "Anterior crowns in lithium disilicate"}),
        ("zirc cro", {"Zirconia crown"}),  # every word must match
        ("zirc titanium", set()),
        ("lith disil", {"Anterior crowns in lithium disilicate"}),
        ("study", {"Printed study models"}),
    ],
)
def test_search_matches_word_prefixes(client, seller, query, expected):
    for title in ["Zirconia crown", "Anterior crowns in lithium disilicate", "Printed study models"]:
        publish(title, owner=seller)

    assert set(titles(browse(client, q=query))) == expected


def test_search_text_with_query_syntax_characters_is_harmless(client, seller):
    publish("Zirconia crown", owner=seller)

    for query in ["zirc & | ! ( ) : * ' \\", "zirc:*", "'zirc'", "!!!", "zirc <-> crown"]:
        response = browse(client, q=query)
        assert response.status_code == 200, query
    assert titles(browse(client, q="zirc:* | titanium")) == []  # "|" separates words, it is not OR


def test_a_title_match_ranks_above_a_description_match(client, seller, settings):
    settings.BROWSE_CACHE_SECONDS = 0  # the second request is the first one's page, from the cache
    in_title = publish("Night guard for bruxism", category="night-guards-splints", owner=seller)
    in_description = publish(
        "Hard occlusal splint",
        category="night-guards-splints",
        owner=seller,
        description=f"{NEUTRAL} Suited to patients with bruxism.",
    )
    assert in_description.published_at > in_title.published_at  # newest first would put it on top

    assert titles(browse(client, q="brux", sort="relevance")) == [in_title.title, in_description.title]
    assert titles(browse(client, q="brux")) == [in_title.title, in_description.title]  # relevance is the default
    assert titles(browse(client, q="brux", sort="newest")) == [in_description.title, in_title.title]


# --- filters ------------------------------------------------------------------------------


def test_category_filter(client, seller):
    publish("Zirconia crown", category="crowns-bridges", owner=seller)
    guide = publish("Pilot drill guide", category="surgical-guides", owner=seller)

    response = browse(client, category="surgical-guides")

    assert titles(response) == [guide.title]
    assert '<h1 class="h3 mb-3">Surgical Guides</h1>' in response.content.decode()
    assert len(titles(browse(client))) == 2


def test_software_filter_keeps_listings_with_any_chosen_program(client, seller):
    publish("Exocad only", owner=seller, software=("exocad-dentalcad",))
    publish("Exocad and 3Shape", owner=seller, software=("exocad-dentalcad", "3shape-dental-system"))
    publish("Medit only", owner=seller, software=("medit",))

    assert set(titles(browse(client, software="exocad-dentalcad"))) == {"Exocad only", "Exocad and 3Shape"}
    assert set(titles(browse(client, software=["3shape-dental-system", "medit"]))) == {
        "Exocad and 3Shape",
        "Medit only",
    }
    assert titles(browse(client, software="medit")) == ["Medit only"]
    assert titles(browse(client, software="blue-sky-plan")) == []


def test_price_range_in_dollars_includes_both_ends(client, seller):
    for cents in [999, 1000, 1500, 2000, 2001]:
        publish(f"Crown at {cents} cents", owner=seller, price_cents=cents)

    assert titles(browse(client, price_min="10", price_max="20", sort="price_asc")) == [
        "Crown at 1000 cents",
        "Crown at 1500 cents",
        "Crown at 2000 cents",
    ]
    assert titles(browse(client, price_min="9.99", price_max="10", sort="price_asc")) == [
        "Crown at 999 cents",
        "Crown at 1000 cents",
    ]
    assert titles(browse(client, price_min="20.01")) == ["Crown at 2001 cents"]


def test_turnaround_filter_keeps_listings_delivered_within_the_days(client, seller):
    for days in [1, 2, 3, 7]:
        publish(f"Delivered in {days} days", owner=seller, turnaround_days=days)

    assert set(titles(browse(client, turnaround="2"))) == {"Delivered in 1 days", "Delivered in 2 days"}
    assert len(titles(browse(client, turnaround="7"))) == 4


def test_verified_only_filter(client):
    verified = publish("Crown by a verified seller")
    other = publish("Crown by a seller who lost the badge")
    # No service takes verification back yet, so every live listing has a verified owner;
    # the filter matters only for a profile whose verification was withdrawn by hand.
    Profile.objects.filter(user=other.owner).update(verified_at=None)

    assert titles(browse(client, verified="on")) == [verified.title]
    assert len(titles(browse(client))) == 2


@pytest.mark.parametrize("bad", [{"price_min": "abc"}, {"category": "no-such-category"}, {"sort": "cheapest"}])
def test_an_invalid_parameter_does_not_drop_the_other_filters(client, seller, bad):
    publish("Zirconia crown", owner=seller)
    publish("Printed study models", owner=seller)

    assert titles(browse(client, q="zirc", **bad)) == ["Zirconia crown"]


# --- sorting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price_asc", ["Crown $10", "Crown $20", "Crown $30"]),
        ("price_desc", ["Crown $30", "Crown $20", "Crown $10"]),
        ("newest", ["Crown $20", "Crown $10", "Crown $30"]),
        ("relevance", ["Crown $20", "Crown $10", "Crown $30"]),  # without search words: newest first
    ],
)
def test_sorts(client, seller, sort, expected):
    for dollars in [30, 10, 20]:  # published in this order
        publish(f"Crown ${dollars}", owner=seller, price_cents=dollars * 100)

    assert titles(browse(client, sort=sort)) == expected


# --- pagination ---------------------------------------------------------------------------


def _query(link_pattern: re.Pattern, response) -> dict:
    match = link_pattern.search(response.content.decode())
    assert match, link_pattern.pattern
    return dict(param.split("=", 1) for param in html.unescape(match.group(1)).split("&"))


def test_pagination_keeps_the_filters(client, seller):
    cheapest_first = [
        publish(f"Crown number {n}", owner=seller, category="crowns-bridges", price_cents=1000 + n) for n in range(30)
    ]
    for n in range(3):  # filtered out: without the filters, page 2 would hold 9
        publish(f"Guide number {n}", owner=seller, category="surgical-guides")

    first = browse(client, category="crowns-bridges", sort="price_asc", price_min="7")

    assert PAGE_SIZE == 24
    assert titles(first) == [listing.title for listing in cheapest_first[:24]]
    assert 'data-testid="result-count">30 services' in first.content.decode()
    assert "Page 1 of 2" in first.content.decode()
    assert PREVIOUS_LINK.search(first.content.decode()) is None
    following = _query(NEXT_LINK, first)
    assert following == {"category": "crowns-bridges", "sort": "price_asc", "price_min": "7", "page": "2"}

    second = client.get(BROWSE, following)

    assert titles(second) == [listing.title for listing in cheapest_first[24:]]
    assert NEXT_LINK.search(second.content.decode()) is None
    assert _query(PREVIOUS_LINK, second) == {**following, "page": "1"}  # one page parameter, not two


@pytest.mark.parametrize("page", ["3", "999", "abc", "-1"])
def test_a_page_out_of_range_shows_a_valid_page(client, seller, page):
    for n in range(PAGE_SIZE + 1):
        publish(f"Crown number {n}", owner=seller)

    assert len(titles(browse(client, page=page))) in {1, PAGE_SIZE}


# --- htmx ---------------------------------------------------------------------------------


def test_htmx_request_gets_only_the_results_fragment(client, seller):
    listing = publish("Zirconia crown", owner=seller)

    response = client.get(BROWSE, {"q": "zirc"}, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="results"')
    assert "<html" not in body
    assert "browse-filters" not in body
    assert listing.get_absolute_url() in body
    assert 'data-testid="result-count">1 service for' in body
    full = client.get(BROWSE, {"q": "zirc"}).content.decode()
    assert "<html" in full
    assert "browse-filters" in full


def test_htmx_history_restore_gets_the_full_page(client, seller):
    publish("Zirconia crown", owner=seller)

    response = client.get(BROWSE, {"q": "zirc"}, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})

    assert "<html" in response.content.decode()
    assert "HX-Request" in response.get("Vary", "")


# --- the home page leads to browse --------------------------------------------------------


def test_home_page_search_box_and_category_links_point_to_browse(client):
    body = client.get("/").content.decode()

    assert f'action="{BROWSE}"' in body
    assert '<label class="visually-hidden" for="home-search">Search design services</label>' in body
    assert 'id="home-search" type="search" name="q"' in body
    categories = list(Category.objects.filter(is_active=True))
    assert categories
    for category in categories:
        assert f'href="{BROWSE}?category={category.slug}"' in body
        response = browse(client, category=category.slug)
        assert f'<h1 class="h3 mb-3">{html.escape(category.name)}</h1>' in response.content.decode()


# --- escaping -----------------------------------------------------------------------------


def test_a_script_in_a_title_is_shown_as_text(client, seller):
    listing = publish(f"{SCRIPT} crown", owner=seller)
    escaped = html.escape(SCRIPT)

    for url in [BROWSE, f"{BROWSE}?q=crown", listing.get_absolute_url()]:
        body = client.get(url).content.decode()
        assert SCRIPT not in body, url
        assert f"{escaped} crown" in body, url


def test_a_script_in_the_search_words_is_shown_as_text(client):
    body = browse(client, q=SCRIPT).content.decode()

    assert SCRIPT not in body
    assert html.escape(SCRIPT) in body


# --- number of queries --------------------------------------------------------------------


def _publish_varied(count: int, recipient) -> None:
    """Listings as browse meets them: each by its own seller, with images and add-ons, one private."""
    for n in range(count):
        publish(
            f"Zirconia crown {n}",
            category="crowns-bridges",
            images=2,
            options=[("Express 24 h", 1500)],
            software=("exocad-dentalcad", "medit"),
            **({"is_private": True, "recipients": [recipient]} if n == 0 else {}),
        )


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize("params", [{}, {"q": "zirc", "software": "medit", "sort": "price_asc"}], ids=["all", "search"])
def test_browse_runs_as_many_queries_for_3_listings_as_for_a_full_page(
    client, settings, django_assert_num_queries, django_assert_max_num_queries, signed_in, params
):
    """Without the cache: what every change to a listing costs the next visitor."""
    settings.BROWSE_CACHE_SECONDS = 0
    viewer = make_user()
    if signed_in:
        client.force_login(viewer)
    _publish_varied(3, viewer)
    favorite_toggle(user=viewer, listing=Listing.objects.filter(is_private=False).first())
    browse(client, **params)  # warm-up: one-off look-ups (site, content types) are not counted

    with CaptureQueriesContext(connection) as few:
        assert len(titles(browse(client, **params))) == (3 if signed_in else 2)  # the first one is private
    _publish_varied(PAGE_SIZE, viewer)

    with django_assert_num_queries(len(few)):
        assert len(titles(browse(client, **params))) == PAGE_SIZE
    # Signed in: session, user, profile (navbar), whether private offers are made to them; then for
    # everyone: the filter form's categories and software, capped count, the page's ids, their cards,
    # images; signed in: favorites. Signed in, the navbar also counts unread messages (one query).
    with django_assert_max_num_queries(12 if signed_in else 7):
        browse(client, **params)


@pytest.mark.parametrize("params", [{}, {"q": "zirc", "software": "medit", "sort": "price_asc"}], ids=["all", "search"])
def test_with_the_cache_a_repeated_page_asks_the_database_nothing_new(
    client, django_assert_num_queries, django_assert_max_num_queries, params
):
    viewer = make_user()
    _publish_varied(PAGE_SIZE + 3, make_user())
    browse(client, **params)  # fills the cache

    with django_assert_num_queries(0):  # anonymous: the whole page comes from Redis
        response = browse(client, **params)
    assert response.status_code == 200 and response.text.count('data-testid="listing-card"') == PAGE_SIZE

    client.force_login(viewer)
    favorite_toggle(user=viewer, listing=Listing.objects.filter(is_private=False).first())
    browse(client, **params)
    # Signed in: session, user, profile (navbar), whether private offers are made to them, their
    # favourites; the results, the form's choices and the unread count come from the cache.
    with django_assert_max_num_queries(6):
        assert len(titles(browse(client, **params))) == PAGE_SIZE


# --- favorites ----------------------------------------------------------------------------


def _saved_on_dashboard(client) -> list[str]:
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return [card.title for card in response.context["favorite_cards"]]


def test_favorite_toggle_saves_and_removes(client, seller):
    listing = publish("Zirconia crown", owner=seller)
    client.force_login(make_user())
    url = reverse("listings:favorite", args=[listing.pk])

    response = client.post(url, follow=True)

    assert response.redirect_chain == [(listing.get_absolute_url(), 302)]
    assert "Saved to your favorites." in response.content.decode()
    assert 'aria-pressed="true"' in response.content.decode()
    assert _saved_on_dashboard(client) == [listing.title]
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert listing.get_absolute_url() in dashboard.split("Saved listings", 1)[1]

    response = client.post(url, follow=True)

    assert "Removed from your favorites." in response.content.decode()
    assert 'aria-pressed="false"' in response.content.decode()
    assert _saved_on_dashboard(client) == []
    assert not Favorite.objects.exists()


def test_favorite_toggle_with_htmx_returns_the_button(client, seller):
    listing = publish("Zirconia crown", owner=seller)
    client.force_login(make_user())
    url = reverse("listings:favorite", args=[listing.pk])

    saved = client.post(url, headers={"HX-Request": "true"})
    removed = client.post(url, headers={"HX-Request": "true"})

    for response, pressed, label in [(saved, "true", "★ Saved"), (removed, "false", "☆ Save")]:
        body = response.content.decode()
        assert response.status_code == 200
        assert body.lstrip().startswith('<form method="post"')
        assert "<html" not in body
        assert f'aria-pressed="{pressed}"' in body
        assert label in body
        assert f'hx-post="{url}"' in body


def test_anonymous_favorite_goes_to_sign_in(client, seller):
    listing = publish("Zirconia crown", owner=seller)
    url = reverse("listings:favorite", args=[listing.pk])

    response = client.post(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert not Favorite.objects.exists()


def test_favorite_needs_a_post(client, seller):
    listing = publish("Zirconia crown", owner=seller)
    client.force_login(make_user())

    assert client.get(reverse("listings:favorite", args=[listing.pk])).status_code == 405


def test_a_private_listing_can_be_saved_only_by_whom_it_is_offered_to(client, seller):
    recipient = make_user()
    listing = publish("Zirconia crown", owner=seller, is_private=True, recipients=[recipient])
    url = reverse("listings:favorite", args=[listing.pk])

    client.force_login(make_user())
    assert client.post(url).status_code == 404
    assert client.post(url, headers={"HX-Request": "true"}).status_code == 404
    assert not Favorite.objects.exists()

    client.force_login(recipient)
    assert client.post(url).status_code == 302
    assert _saved_on_dashboard(client) == [listing.title]


def test_a_saved_listing_that_is_taken_down_leaves_the_dashboard(client, seller):
    listing = publish("Zirconia crown", owner=seller)
    client.force_login(make_user())
    client.post(reverse("listings:favorite", args=[listing.pk]))
    assert _saved_on_dashboard(client) == [listing.title]

    listing_archive(listing=listing, by=seller)

    assert _saved_on_dashboard(client) == []
    assert client.post(reverse("listings:favorite", args=[listing.pk])).status_code == 404


# --- dental terms and large results -------------------------------------------------------


@pytest.mark.parametrize("typed", ["e.max", "E.MAX ven", "all-on", "All-on-4"])
def test_dental_terms_with_dots_and_hyphens_are_found(client, seller, typed):
    publish("E.max veneers, All-on-4 try-in", owner=seller)
    publish("Printed study models", owner=seller)

    assert titles(browse(client, q=typed)) == ["E.max veneers, All-on-4 try-in"]


def test_large_results_are_counted_up_to_the_cap(client, seller, monkeypatch):
    from listings.selectors import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 3)
    for n in range(5):
        publish(f"Model {n}", owner=seller)

    response = browse(client)

    assert 'data-testid="result-count">3+ services' in response.content.decode()
    assert len(titles(response)) == 4  # pages end just past the cap: refine the search to see the rest


# --- short addresses (issue 18) ------------------------------------------------------------


FULL_FORM = {"q": "crown", "category": "", "price_min": "", "price_max": "", "turnaround": "", "min_rating": "",
             "sort": "relevance"}


def test_the_form_sent_without_javascript_lands_on_its_short_address(client, seller):
    publish("Zirconia crown", owner=seller)

    response = client.get(BROWSE, FULL_FORM)

    assert response.status_code == 302
    assert response["Location"] == f"{BROWSE}?q=crown&sort=relevance"
    assert client.get(BROWSE, {"q": "", "category": ""})["Location"] == BROWSE
    assert titles(client.get(response["Location"])) == ["Zirconia crown"]


def test_htmx_puts_the_short_address_in_the_address_bar(client, seller):
    publish("Zirconia crown", owner=seller)

    response = client.get(BROWSE, {**FULL_FORM, "page": "1"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Push-Url"] == f"{BROWSE}?q=crown&sort=relevance&page=1"
    empty = client.get(BROWSE, {"q": "", "category": ""}, headers={"HX-Request": "true"})
    assert empty["HX-Push-Url"] == BROWSE


def test_page_links_carry_only_the_filters_that_say_something(client, seller):
    for n in range(PAGE_SIZE + 1):
        publish(f"Crown {n}", owner=seller)

    body = client.get(BROWSE, {**FULL_FORM, "sort": "newest"}, headers={"HX-Request": "true"}).content.decode()

    assert NEXT_LINK.search(body).group(1) == "q=crown&amp;sort=newest&amp;page=2"

"""The caches of signed-in pages (version tokens, the unread badge, listing cards and profile
reviews kept in Redis) attacked from outside: Redis down, a rename racing a page, threads
changed by every path, cold pages with unusual rows. The first three failed when an outside
review found them (sessions were briefly `cached_db`; the reviews read a name before the token)."""

import contextlib
import re
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Profile
from accounts.services import profile_update, user_delete, user_suspend
from accounts.tests.helpers import PASSWORD, make_user
from cadcam.cache import KeptClient
from disputes.tests.helpers import make_disputed
from listings.models import CadSoftware
from listings.services import favorite_toggle, listing_update
from listings.tests.helpers import content, make_published, make_verified_seller
from marketplace import views as marketplace_views
from messaging.models import Conversation
from messaging.services import support_request_open
from messaging.tests.helpers import make_direct, reply
from orders.tests.helpers import make_order
from reviews.services import review_reply
from reviews.tests.test_display import rate

pytestmark = pytest.mark.django_db


@contextlib.contextmanager
def redis_down():
    """Every command to Redis fails as with the server unreachable (the data it held stays, as
    after a network blip or a failover)."""

    def down(self, *args, **kwargs):
        raise ConnectionError("Redis is down")

    with mock.patch.object(KeptClient, "get_client", down):
        yield


def profile_url(user) -> str:
    return reverse("public_profile", args=[user.username])


def nav_unread(client) -> int:
    body = client.get(reverse("home")).content.decode()
    found = re.search(r'data-testid="nav-unread">(\d+)<', body)
    return int(found.group(1)) if found else 0


def queries_for(client, url) -> list[str]:
    cache.clear()  # cold: every card, review and badge computed
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


# --- sessions (1cad707: cached_db) -------------------------------------------------------------------


def test_signed_in_pages_still_render_when_redis_is_down(client):
    """Found by review, fixed. With `cached_db` every signed-in request reads the session through Redis, and
    Django's cached_db `load()` writes the session it read from PostgreSQL back to the cache
    without guarding that write: with Redis unreachable every signed-in page is a 500. With
    the previous `db` engine the same pages answered 200 (checked by running this test with
    SESSION_ENGINE = "django.contrib.sessions.backends.db": the badge, cards and reviews
    already fall back to the database)."""
    me = make_verified_seller()
    listing = make_published(owner=me)
    rate(listing, 4)
    make_direct(make_user(), me)
    client.force_login(me)
    client.raise_request_exception = False

    with redis_down():
        statuses = {url: client.get(url).status_code
                    for url in (reverse("home"), reverse("dashboard"), profile_url(me), reverse("messaging:inbox"))}

    assert statuses == dict.fromkeys(statuses, 200)


def test_signing_out_while_redis_is_down_signs_out_and_stays_signed_out(client):
    """Found by review, fixed. cached_db's `delete()` (called by logout's flush) deletes the database row, then
    the cache entry unguarded: during a Redis outage "Sign out" is a 500, and once Redis
    answers again the session it still holds signs the old cookie in again (cached_db reads
    the cache first), although the database row is gone. With the `db` engine sign-out
    worked and the old cookie was dead."""
    me = make_user()
    client.force_login(me)
    assert client.get(reverse("dashboard")).status_code == 200  # the session is now in Redis too
    cookie = client.cookies["sessionid"].value
    client.raise_request_exception = False

    with redis_down():
        signed_out = client.post(reverse("account_logout"))

    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert signed_out.status_code == 302
    assert replay.get(reverse("dashboard")).status_code == 302  # to the sign-in page


def test_cached_db_sessions_still_end_and_survive_a_cleared_cache(client):
    """A cleared cache signs nobody out (read back from PostgreSQL); sign-out,
    a password change (other sessions), suspension and account deletion still end sessions."""
    me = make_user()
    client.force_login(me)
    client.get(reverse("dashboard"))
    cache.clear()
    assert client.get(reverse("dashboard")).status_code == 200

    cookie = client.cookies["sessionid"].value
    client.post(reverse("account_logout"))
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert replay.get(reverse("dashboard")).status_code == 302

    elsewhere = Client()
    elsewhere.force_login(me)
    assert elsewhere.get(reverse("dashboard")).status_code == 200
    client.force_login(me)
    new = "another-Long-phrase-99"
    changed = client.post(reverse("account_change_password"),
                          {"oldpassword": PASSWORD, "password1": new, "password2": new})
    assert changed.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200
    assert elsewhere.get(reverse("dashboard")).status_code == 302

    suspended, deleted = make_user(), make_user()
    for person, end in ((suspended, lambda: user_suspend(user=suspended, by=make_user(is_staff=True), reason="Spam")),
                        (deleted, lambda: user_delete(user=deleted, password=PASSWORD))):
        session = Client()
        session.force_login(person)
        assert session.get(reverse("dashboard")).status_code == 200
        end()
        assert session.get(reverse("dashboard")).status_code == 302


# --- the reviews kept as HTML (e0d315d: reviews/shown.py) ------------------------------------------


def test_a_rename_during_a_profile_request_is_not_kept_under_the_new_token(client, monkeypatch,
                                                                          django_capture_on_commit_callbacks):
    """Found by review, fixed. `public_profile` loads the subject's profile first and only later reads the
    subject's token (received_html -> current_token); each review's HTML includes the
    subject's name ("Reply from <public_name>") taken from that early profile. A rename that
    commits in between (both token moves done) is rendered with the OLD name and stored under
    the NEW token, so every later visitor sees the old name in the replies (for up to 24 h,
    reviews.shown.SECONDS) while the heading of the same page shows the new one. The cards
    avoid this by reading their rows after the token ("what is kept must not be older than
    the tokens it is filed under"); the reviews break that rule for the profile."""
    listing = make_published()
    (review,) = rate(listing, 4)
    designer = listing.owner
    review_reply(review=review, by=designer, text="Thank you, see you on the next case!")
    old_name = designer.profile.public_name
    assert f"Reply from {old_name}" in client.get(profile_url(designer)).content.decode()
    cache.clear()  # nothing kept yet: the racing request is the first to render the review

    loaded = marketplace_views.public_profile_for

    def rename_commits_meanwhile(username):
        profile = loaded(username)  # this request's copy, with the old name
        with django_capture_on_commit_callbacks(execute=True):  # another request renames and commits
            profile_update(profile=Profile.objects.get(pk=profile.pk), data={"display_name": "Anna the designer"})
        return profile

    monkeypatch.setattr(marketplace_views, "public_profile_for", rename_commits_meanwhile)
    client.get(profile_url(designer))  # the request in flight may show the old name...
    monkeypatch.undo()

    page = client.get(profile_url(designer)).content.decode()  # ...the next one must not
    assert "Reviews of Anna the designer" in page
    assert "Reply from Anna the designer" in page, "the old name was kept under the new token"


# --- the navigation badge (8ba4a8b) and the query counts (e0d315d) -----------------------------


def test_the_badge_follows_support_dispute_poll_and_deleted_threads(client):
    """Paths that change unread counts outside message_send's usual route all
    move the token: a staff answer in a support thread (and the user's reply to staff), a
    dispute thread (seats made with bulk_create), the poll view marking read, a whole
    conversation deleted (cascade)."""
    user, staff = make_user(), make_user(is_staff=True)
    support = support_request_open(user=user, body="My payout is late, can you check?").conversation
    client.force_login(staff)
    assert nav_unread(client) == 0
    client.post(reverse("messaging:send", args=[support.pk]), {"body": "It goes out tomorrow."})
    client.force_login(user)
    assert nav_unread(client) == 1
    client.get(reverse("messaging:support_detail", args=[support.pk]))
    assert nav_unread(client) == 0
    reply(support, user, "Thanks, I will wait for it.")
    client.force_login(staff)
    assert nav_unread(client) == 1

    order, _ = make_disputed()
    client.force_login(order.freelancer)
    before = nav_unread(client)
    dispute_thread = Conversation.objects.get(kind=Conversation.Kind.DISPUTE, order=order)
    reply(dispute_thread, order.employer, "The margins are open on the distal side.")
    assert nav_unread(client) == before + 1

    direct, alice, bob = make_direct()
    client.force_login(bob)
    reply(direct, alice, "Did you get the scans?")
    assert nav_unread(client) == 2
    client.get(reverse("messaging:poll", args=[direct.pk]), {"after": 0})
    assert nav_unread(client) == 0
    reply(direct, alice, "Hello?")
    assert nav_unread(client) == 1
    direct.delete()
    assert nav_unread(client) == 0


def test_cold_pages_cost_the_same_for_company_sellers_deleted_authors_and_pending_edits(client):
    """From a cold cache, `.only()` on cards, review rows, order rows and the
    owner's listings reads nothing per row, also for the cases the existing page-cost tests do
    not build: company sellers and authors (public_name reads account_type/company_name),
    a deleted author (no profile), reviews of the person as client, private listings, and
    listings with an edit waiting for review (pending_edit)."""
    designer = make_verified_seller()
    listing = make_published(owner=designer)
    rate(listing, 5)
    make_order(listing=listing)
    make_order(employer=designer)
    favorite_toggle(user=designer, listing=make_published())
    client.force_login(designer)
    urls = (profile_url(designer), reverse("dashboard"))
    for url in urls:
        client.get(url)
    few = [queries_for(client, url) for url in urls]

    (by_company,) = rate(listing, 4)
    profile_update(profile=by_company.author.profile, data={"account_type": "company", "company_name": "Lab AG"})
    (by_deleted,) = rate(listing, 3)
    user_delete(user=by_deleted.author, password=PASSWORD)
    rate(make_published(), 5, designer_rating=2, employer=designer)
    make_published(owner=designer, is_private=True, recipients=[make_user()])
    for _ in range(2):
        live = make_published(owner=designer)
        listing_update(listing=live, by=designer, data=content(title="Changed crown design"),
                       software=CadSoftware.objects.all()[:1])
        make_order(listing=listing)
        make_order(employer=designer)
        saved = make_published()
        profile_update(profile=saved.owner.profile, data={"account_type": "company", "company_name": "Crowns Ltd"})
        favorite_toggle(user=designer, listing=saved)
    many = [queries_for(client, url) for url in urls]

    for url, before, after in zip(urls, few, many, strict=True):
        assert len(after) == len(before), f"{url}:\n" + "\n".join(after)


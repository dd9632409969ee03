"""Every URL pattern of the site, walked from `django.urls.get_resolver()`, and the ONE table
that classifies them. A new URL pattern that is not in CLASSIFICATION fails
`test_inventory.py`; a new private one also needs its access-matrix case
(`test_access_matrix.CASES`).

Kinds:

- "public": anyone may open it (it shows nothing private).
- "login_required_own_data": sign-in needed; it shows or changes only the viewer's own data
  (no object id in the URL that could name someone else's).
- "private_object:<kind>": takes the id of an object that belongs to somebody (an order,
  a conversation, an ID document...); everyone else gets 404.
- "staff_only": the support team's pages.
- "webhook": Stripe's signed, csrf-exempt endpoints.
- "admin": Django's admin (classified by prefix: everything under /admin/).
- "allauth": django-allauth's account and two-factor pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

PUBLIC = "public"
OWN_DATA = "login_required_own_data"
STAFF_ONLY = "staff_only"
WEBHOOK = "webhook"
ADMIN = "admin"
ALLAUTH = "allauth"
PRIVATE = "private_object:"

ADMIN_PREFIX = "admin/"
# Patterns that exist only in some configurations (media is served by Django in development only).
CONDITIONAL = {"^media/(?P<path>.*)$"}

# name (namespace:name), or the route for the few patterns without a name -> kind
CLASSIFICATION: dict[str, str] = {
    # cadcam
    "healthz": PUBLIC,
    "readyz": PUBLIC,  # states of the database, Redis, storage, migrations and beat: no data
    "metrics": PUBLIC,  # Prometheus: only from METRICS_ALLOWED_NETWORKS (the test client's 127.0.0.1) or the token
    "staff_enrol": STAFF_ONLY,  # staff without an authenticator app: confirm by e-mail first
    "staff_enrol_confirm": STAFF_ONLY,  # the e-mailed link (a signed token for one staff account)
    "favicon.ico": PUBLIC,
    "direct_upload_start": OWN_DATA,  # S3 mode: where the signed-in browser sends a file
    "direct_upload_complete": PRIVATE + "direct_upload",  # the uploader's own upload only
    "^media/(?P<path>.*)$": PUBLIC,  # public uploads (photos, listing images) in development only
    "pages:how_it_works": PUBLIC,
    "pages:faq": PUBLIC,
    "pages:terms": PUBLIC,
    "pages:privacy": PUBLIC,
    # accounts
    "accounts:profile": OWN_DATA,
    "accounts:verification": OWN_DATA,
    "accounts:verification_document": PRIVATE + "id_document",
    "accounts:delete": OWN_DATA,
    "accounts:export": OWN_DATA,
    # listings
    "listings:browse": PUBLIC,
    "listings:new": OWN_DATA,
    "listings:recipient_search": OWN_DATA,  # the client picker of a new listing: the seller's own contacts
    "listings:detail": PRIVATE + "listing",  # private and unpublished listings
    "listings:edit": PRIVATE + "listing",
    "listings:recipient_search_for": PRIVATE + "listing",  # the client picker of the owner's listing
    "listings:archive": PRIVATE + "listing",
    "listings:favorite": PRIVATE + "listing",
    # orders
    "orders:send_case": PRIVATE + "listing",
    "orders:detail": PRIVATE + "order",
    "orders:pay": PRIVATE + "order",
    "orders:pay_return": PRIVATE + "order",
    "orders:pay_check": PRIVATE + "order",
    "orders:download": PRIVATE + "order_file",
    "orders:file_summary": PRIVATE + "order_file",
    "orders:review": PRIVATE + "order_file",
    "orders:pin_add": PRIVATE + "order_file",
    "orders:pin_resolve": PRIVATE + "order_file",
    "orders:pin_delete": PRIVATE + "order_file",
    "orders:compare": PRIVATE + "order",
    "orders:act": PRIVATE + "order",
    # disputes
    "disputes:open": PRIVATE + "order",
    # reviews
    "reviews:create": PRIVATE + "order",
    "reviews:reply": PRIVATE + "review",
    # messaging
    "messaging:inbox": OWN_DATA,
    "messaging:preferences": OWN_DATA,
    "messaging:contact": PRIVATE + "listing",
    "messaging:write_to": OWN_DATA,  # compose to a public profile
    "messaging:conversation": PRIVATE + "conversation",
    "messaging:send": PRIVATE + "conversation",
    "messaging:poll": PRIVATE + "conversation",
    "messaging:order_send": PRIVATE + "order",  # the first message of an order's thread
    "messaging:download": PRIVATE + "attachment",
    "messaging:attachment_summary": PRIVATE + "attachment",
    "messaging:block": PRIVATE + "conversation",
    "messaging:unblock": PRIVATE + "conversation",
    "messaging:support": OWN_DATA,
    "messaging:staff_inbox": STAFF_ONLY,
    "messaging:support_detail": PRIVATE + "support_request",
    "messaging:staff_act": STAFF_ONLY,
    # payouts
    "payouts:index": OWN_DATA,
    "payouts:earnings_csv": OWN_DATA,
    "payouts:spending": OWN_DATA,
    "payouts:receipt": PRIVATE + "receipt",
    "payouts:other_countries": PUBLIC,
    "payouts:connect": OWN_DATA,
    "payouts:onboarding": OWN_DATA,
    "payouts:onboarding_return": OWN_DATA,
    "payouts:dashboard": OWN_DATA,
    "payouts:simulated_onboarding": PRIVATE + "payout_account",
    "payouts:simulated_dashboard": PRIVATE + "payout_account",
    # payments
    "stripe_webhook": WEBHOOK,
    "stripe_connect_webhook": WEBHOOK,
    # marketplace
    "home": PUBLIC,
    "dashboard": OWN_DATA,
    "start_selling": OWN_DATA,
    "public_profile": PUBLIC,
    # allauth
    "account_login": ALLAUTH,
    "account_logout": ALLAUTH,
    "account_inactive": ALLAUTH,
    "account_signup": ALLAUTH,
    "account_reauthenticate": ALLAUTH,
    "account_request_reauthentication_code": ALLAUTH,
    "account_confirm_reauthentication_code": ALLAUTH,
    "account_email": ALLAUTH,
    "account_email_verification_sent": ALLAUTH,
    "account_change_password": ALLAUTH,
    "account_set_password": ALLAUTH,
    "account_reset_password": ALLAUTH,
    "account_confirm_login_code": ALLAUTH,
    "account_confirm_email": ALLAUTH,
    "account_reset_password_from_key_done": ALLAUTH,
    "account_reset_password_from_key": ALLAUTH,
    "account_reset_password_done": ALLAUTH,
    "mfa_index": ALLAUTH,
    "mfa_authenticate": ALLAUTH,
    "mfa_reauthenticate": ALLAUTH,
    "mfa_activate_totp": ALLAUTH,
    "mfa_deactivate_totp": ALLAUTH,
    "mfa_view_recovery_codes": ALLAUTH,
    "mfa_generate_recovery_codes": ALLAUTH,
    "mfa_download_recovery_codes": ALLAUTH,
}

_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    """One URL pattern: its key in CLASSIFICATION, the pieces of its path (prefixes first)
    and its view."""

    key: str
    name: str | None
    pieces: tuple  # (RoutePattern | RegexPattern, ...) from the root down
    callback: object = field(compare=False)

    @property
    def route(self) -> str:
        return "".join(str(piece) for piece in self.pieces)

    @property
    def kind(self) -> str | None:
        return classify(self)

    @property
    def params(self) -> list[tuple[str, str]]:
        """(name, converter) of each path parameter; "regex" for regular-expression groups."""
        found = []
        for piece in self.pieces:
            if isinstance(piece, RoutePattern):
                found += [(m["name"], m["converter"] or "str") for m in _ROUTE_PARAM.finditer(str(piece))]
            elif isinstance(piece, RegexPattern):
                found += [(name, "regex") for name in piece.regex.groupindex]
        return found

    def path(self, values: dict[str, str]) -> str:
        """The path with each parameter replaced by values[name] (inserted as given: already
        percent-encoded where needed)."""
        return "/" + "".join(_fill(piece, values) for piece in self.pieces)


def _fill(piece, values: dict[str, str]) -> str:
    if isinstance(piece, RoutePattern):
        return _ROUTE_PARAM.sub(lambda m: values[m["name"]], str(piece))
    text = str(piece)
    out, i = [], 0
    while i < len(text):
        if text.startswith("(?P<", i):
            name = text[i + 4:text.index(">", i)]
            depth, j = 0, i
            while True:  # skip to the group's closing parenthesis
                if text[j] == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1
                if depth == 0:
                    break
            out.append(values[name])
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out).lstrip("^").rstrip("$")


def _walk(resolver: URLResolver, pieces: tuple, namespace: str | None):
    for pattern in resolver.url_patterns:
        here = (*pieces, pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern, here, inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            key = name or "".join(str(piece) for piece in here)
            yield Route(key=key, name=name, pieces=here, callback=pattern.callback)


def all_routes() -> list[Route]:
    """Every URL pattern the site serves, from the root URLconf (admin and allauth included)."""
    return list(_walk(get_resolver(), (), None))


def classify(route: Route) -> str | None:
    if route.route.startswith(ADMIN_PREFIX) or (route.name or "").startswith("admin:"):
        return ADMIN
    return CLASSIFICATION.get(route.key)


def routes_of(kind_prefix: str) -> list[Route]:
    return [route for route in all_routes() if (route.kind or "").startswith(kind_prefix)]


def private_kinds() -> list[str]:
    """The private object kinds the URL configuration has today (e.g. "order", "listing")."""
    return sorted({route.kind.removeprefix(PRIVATE) for route in routes_of(PRIVATE)})

"""XSS: payloads typed into every field people write (profiles, listings, orders, deliveries,
revisions, declines, messages, support, disputes, reviews and replies, file names, search
boxes), through the real forms, then every page that shows them rendered for each person who
sees them (the admin included) and the e-mails they cause: the payload is always shown as
text, never run."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils.html import escape

from accounts.forms import ProfileForm
from listings.models import CadSoftware, Category, Listing
from listings.services import listing_approve
from listings.tests.helpers import DESCRIPTION as LISTING_DESCRIPTION
from listings.tests.helpers import listing_image
from marketplace.tests.security.report import record
from marketplace.tests.security.world import ANONYMOUS, EMPLOYER, FREELANCER, STAFF_MFA, World, initial_post_data
from marketplace.tests.security.xss import LONG_PAYLOAD, PAYLOAD, SCRIPT, inspect, tagged
from messaging.models import Conversation
from messaging.services import conversation_for_order
from orders.models import Order
from orders.tests.helpers import stl_upload
from reviews.models import Review

pytestmark = pytest.mark.django_db

FIELDS = {
    "X01": "designer's display name",
    "X02": "designer's about text",
    "X03": "designer's training",
    "X04": "designer's company name",
    "X05": "client's display name",
    "X06": "client's company name (on receipts)",
    "X07": "listing title",
    "X08": "listing description",
    "X09": "listing unit name",
    "X10": "listing add-on option name",
    "X11": "order instructions",
    "X12": "case file name",
    "X13": "decline reason",
    "X14": "delivery note",
    "X15": "revision message",
    "X16": "client's review comment",
    "X17": "designer's review comment",
    "X18": "designer's reply to a review",
    "X19": "client's reply to a review",
    "X20": "dispute description",
    "X21": "dispute thread message",
    "X22": "first message from a listing's Contact",
    "X23": "reply in a direct conversation",
    "X24": "order conversation message",
    "X25": "support request",
    "X26": "browse search box (reflected)",
    "X27": "inbox search box (reflected)",
    "X28": "admin search box (reflected)",
}
UNIT_NAME = "X9<img src=x onerror=alert(1)>"  # the field holds 30 characters
FILE_NAME = "X12' onmouseover='alert(1)' \"x\" javascript:alert(1).stl"


def test_the_check_sees_a_payload_that_would_run_and_passes_an_escaped_one():
    raw, _ = inspect(f"<p>{LONG_PAYLOAD}</p>")
    escaped, text = inspect(f'<p>{escape(LONG_PAYLOAD)}</p><input value="{escape(PAYLOAD)}">')

    assert len(raw) >= 4  # the script, the <img onerror>, the javascript: link, the <svg onload>
    assert escaped == []
    assert SCRIPT in text


def post(client, url: str, data: dict, *, expect: int = 302):
    response = client.post(url, data)
    if response.status_code != expect:
        context = response.context or {}
        errors = {name: getattr(context.get(name), "errors", None) for name in ("form", "formset")}
        pytest.fail(f"POST {url}: {response.status_code}, form errors {errors}")
    return response


def act(client, order: Order, action: str, **data):
    return post(client, reverse("orders:act", args=[order.pk, action]), data)


def write_everything(w: World) -> dict[str, list[str]]:
    """Type the payloads through the forms; return the pages to render per role."""
    employer, freelancer = w.client(EMPLOYER), w.client(FREELANCER)

    # profiles
    data = initial_post_data(ProfileForm(instance=w.freelancer.profile))
    post(freelancer, reverse("accounts:profile"), {
        **data, "display_name": tagged("X01"), "about": tagged("X02", long=True), "training": tagged("X03", long=True),
        "account_type": "company", "company_name": tagged("X04")})
    data = initial_post_data(ProfileForm(instance=w.employer.profile))
    post(employer, reverse("accounts:profile"), {
        **data, "display_name": tagged("X05"), "account_type": "company", "company_name": tagged("X06")})

    # a listing, submitted through the form and approved by staff
    post(freelancer, reverse("listings:new"), {
        "title": tagged("X07"), "category": Category.objects.get(slug="crowns-bridges").pk,
        "description": tagged("X08", long=True) + " " + LISTING_DESCRIPTION,
        "software": [CadSoftware.objects.get(slug="exocad-dentalcad").pk], "revisions_included": "2",
        "price_cents": "50.00", "is_per_unit": "on", "unit_name": UNIT_NAME, "turnaround_days": "3",
        "options-TOTAL_FORMS": "1", "options-INITIAL_FORMS": "0", "options-0-name": tagged("X10"),
        "options-0-price_cents": "5.00", "new_images": [listing_image()], "action": "submit",
    })
    listing = Listing.objects.get(owner=w.freelancer, title=tagged("X07"))
    listing = listing_approve(listing=listing, by=w.staff_mfa)
    assert listing.status == Listing.Status.PUBLISHED

    # four cases sent and (three) paid through the forms
    orders = []
    for _ in range(4):
        post(employer, reverse("orders:send_case", args=[listing.pk]), {
            "quantity": "1", "options": [listing.options.get().pk], "instructions": tagged("X11", long=True),
            "files": [stl_upload(FILE_NAME)]})
        orders.append(Order.objects.filter(employer=w.employer).latest("pk"))
    declined, completed, disputed, unpaid = orders
    for order in (declined, completed, disputed):
        post(employer, reverse("orders:pay", args=[order.pk]), {"outcome": "approve"})

    act(freelancer, declined, "decline", reason=tagged("X13", long=True))
    act(freelancer, completed, "accept")
    act(freelancer, completed, "deliver", note=tagged("X14", long=True), files=[stl_upload("design.stl")])
    act(employer, completed, "request_revision", message=tagged("X15", long=True))
    act(freelancer, completed, "deliver", note="Revised", files=[stl_upload("design-2.stl")])
    act(employer, completed, "complete")
    post(employer, reverse("reviews:create", args=[completed.pk]), {"rating": "4", "comment": tagged("X16", long=True)})
    post(freelancer, reverse("reviews:create", args=[completed.pk]), {"rating": "5",
                                                                       "comment": tagged("X17", long=True)})
    post(freelancer, reverse("reviews:reply", args=[Review.objects.get(order=completed, author=w.employer).pk]),
         {"reply": tagged("X18", long=True)})
    post(employer, reverse("reviews:reply", args=[Review.objects.get(order=completed, author=w.freelancer).pk]),
         {"reply": tagged("X19", long=True)})

    act(freelancer, disputed, "accept")
    post(employer, reverse("disputes:open", args=[disputed.pk]), {
        "reason": "quality", "description": tagged("X20", long=True), "files": [stl_upload("proof.stl")]})
    thread = Conversation.objects.get(kind=Conversation.Kind.DISPUTE, order=disputed)
    post(freelancer, reverse("messaging:send", args=[thread.pk]), {"body": tagged("X21", long=True)})

    # messages
    post(employer, reverse("messaging:contact", args=[listing.pk]), {"body": tagged("X22", long=True)})
    direct = Conversation.objects.get(kind=Conversation.Kind.DIRECT)
    post(freelancer, reverse("messaging:send", args=[direct.pk]), {"body": tagged("X23", long=True)})
    order_thread = conversation_for_order(order=completed)
    post(employer, reverse("messaging:send", args=[order_thread.pk]), {"body": tagged("X24", long=True)})
    post(employer, reverse("messaging:support"), {"body": tagged("X25", long=True)})
    support = Conversation.objects.get(kind=Conversation.Kind.SUPPORT)

    order_pages = [reverse("orders:detail", args=[order.pk]) for order in (declined, completed, disputed, unpaid)]
    people = [reverse("public_profile", args=[user.username]) for user in (w.freelancer, w.employer)]
    return {
        ANONYMOUS: [reverse("home"), reverse("listings:browse"), f"{reverse('listings:browse')}?q={tagged('X26')}",
                    listing.get_absolute_url(), *people],
        EMPLOYER: [reverse("dashboard"), *order_pages, reverse("orders:pay", args=[unpaid.pk]),
                   reverse("orders:send_case", args=[listing.pk]),
                   reverse("payouts:receipt", args=[completed.pk]), reverse("payouts:spending"),
                   reverse("messaging:inbox"), f"{reverse('messaging:inbox')}?q={tagged('X27')}",
                   reverse("messaging:conversation", args=[direct.pk]),
                   reverse("messaging:conversation", args=[thread.pk]),
                   reverse("messaging:support_detail", args=[support.pk]), reverse("messaging:support"),
                   reverse("accounts:profile"),
                   listing.get_absolute_url(), *people],
        FREELANCER: [reverse("dashboard"), *order_pages[:3], reverse("payouts:index"), reverse("messaging:inbox"),
                     reverse("messaging:conversation", args=[direct.pk]),
                     reverse("messaging:conversation", args=[thread.pk]),
                     reverse("listings:edit", args=[listing.pk]), reverse("listings:archive", args=[listing.pk]),
                     reverse("accounts:profile"), reverse("accounts:verification"), listing.get_absolute_url(),
                     *people],
        STAFF_MFA: [reverse("messaging:staff_inbox"), reverse("messaging:support_detail", args=[support.pk]),
                    reverse("messaging:conversation", args=[thread.pk]), *order_pages,
                    reverse("admin:listings_listing_changelist"),
                    reverse("admin:listings_listing_change", args=[listing.pk]),
                    reverse("admin:orders_order_changelist"),
                    f"{reverse('admin:orders_order_changelist')}?q={tagged('X28')}",
                    *[reverse("admin:orders_order_change", args=[order.pk]) for order in orders],
                    reverse("admin:disputes_dispute_changelist"),
                    reverse("admin:disputes_dispute_change", args=[disputed.disputes.get().pk]),
                    reverse("admin:accounts_verificationrequest_changelist"),
                    reverse("admin:accounts_verificationrequest_change", args=[w.id_document.pk]),
                    reverse("admin:accounts_user_changelist"),
                    reverse("admin:accounts_user_change", args=[w.freelancer.pk]),
                    reverse("admin:reviews_review_changelist"),
                    *[reverse("admin:reviews_review_change", args=[review.pk])
                      for review in Review.objects.filter(order=completed)],
                    reverse("admin:messaging_conversation_changelist"),
                    *[reverse("admin:messaging_conversation_change", args=[c.pk]) for c in (support, thread, direct)],
                    *people],
    }


def test_payloads_in_every_user_writable_field_are_rendered_inert(world, staff_need_mfa,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        pages = write_everything(world)
    problems, shown = [], set()
    rendered = 0
    for role, paths in pages.items():
        client = world.client(role)
        for path in paths:
            response = client.get(path)
            rendered += 1
            if response.status_code != 200:
                problems.append(f"{path} as {role}: {response.status_code}")
                continue
            if "html" not in response.get("Content-Type", ""):
                continue
            found, text = inspect(response.content.decode())
            problems += [f"{path} as {role}: {problem}" for problem in found]
            shown |= {tag for tag in FIELDS if f"{tag}{SCRIPT}" in text or (tag == "X09" and UNIT_NAME in text)
                      or (tag == "X12" and "X12' onmouseover='alert(1)'" in text)}
    for message in mail.outbox:
        for body, kind in getattr(message, "alternatives", []):
            if kind == "text/html":
                found, _ = inspect(body)
                problems += [f"e-mail {message.subject!r}: {problem}" for problem in found]
    record("XSS fields", len(FIELDS))
    record("XSS pages rendered", rendered)

    assert not problems, "\n".join(problems)
    never_shown = {tag: what for tag, what in FIELDS.items() if tag not in shown}
    assert not never_shown, f"these fields were shown on no page checked (is the check blind?): {never_shown}"

"""A staff member signs in with the password alone (production rules: ADMIN_REQUIRES_MFA):
other people's orders do not exist for them until they set up their authenticator app, which
the staff admin asks for (after a link e-mailed to the staff address); then they open an
applicant's ID document in the admin, and the opening is on record there."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from playwright.sync_api import expect

from accounts.models import DocumentAccess, User
from accounts.tests.helpers import make_pending_request, make_user, totp_code
from e2e.helpers import sign_in
from orders.tests.helpers import make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAFF_EMAIL = "ops@example.com"
STAFF_PASSWORD = "another-long-Secret-phrase-7"


def test_staff_set_up_the_second_factor_before_using_staff_rights(page, live_server, settings):
    settings.ADMIN_REQUIRES_MFA = True
    staff = User.objects.create_superuser(email=STAFF_EMAIL, username="ops", password=STAFF_PASSWORD)
    EmailAddress.objects.create(user=staff, email=STAFF_EMAIL, verified=True, primary=True)
    applicant = make_user(email="applicant@example.com")
    request = make_pending_request(applicant)
    order = make_order()

    sign_in(page, STAFF_EMAIL, STAFF_PASSWORD)
    page.goto(f"/orders/{order.pk}/")
    expect(page.get_by_role("heading", name="We couldn't find that page")).to_be_visible()

    page.get_by_test_id("user-menu").click()
    page.get_by_role("link", name="Staff admin").click()
    expect(page.get_by_text("Set up two-factor authentication to use your staff rights.")).to_be_visible()
    # The password alone cannot add an authenticator to a staff account: a link goes to its address.
    page.get_by_role("button", name="E-mail me the link").click()
    expect(page.get_by_text(f"We e-mailed a link to {STAFF_EMAIL}.")).to_be_visible()
    link = re.search(r"https?://[^/\s]+(/staff/two-factor/\S+/)", mail.outbox[-1].body).group(1)
    page.goto(link)
    # allauth asks for the password again before an authenticator is added.
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    secret = page.get_by_label("Authenticator secret").input_value()
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()

    page.goto("/admin/accounts/verificationrequest/")
    page.get_by_role("link", name="applicant@example.com").click()
    link = page.get_by_role("link", name=request.document_name)
    document = page.request.get(link.get_attribute("href"))
    assert document.status == 200 and document.headers["content-type"] == "application/pdf"
    page.reload()
    expect(page.get_by_text("ID document opened by")).to_be_visible()
    expect(page.locator(".inline-related")).to_contain_text("ops")
    assert DocumentAccess.objects.get().viewed_by == staff

    page.goto(f"/orders/{order.pk}/")
    expect(page.get_by_role("heading", name=re.compile(order.title))).to_be_visible()

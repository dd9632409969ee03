"""An employer disputes a delivered order, staff refund half of it in admin, then both
parties review each other and see both reviews once both are in."""

import pytest
from playwright.sync_api import expect

from accounts.tests.helpers import make_user
from cadcam.money import format_cents
from disputes.models import Dispute
from disputes.tests.helpers import make_delivered
from e2e.helpers import new_page, sign_in, write_review
from payments.reconcile import reconcile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMPLAINT = "The crown is 0.4 mm too short at the distal margin and the contact with 27 is open."
BY_CLIENT = "Fair outcome; the designer answered quickly in the dispute thread."
BY_DESIGNER = "Clear case notes; we settled the margin issue fairly."


def test_a_dispute_refunded_by_half_in_admin_then_mutual_reviews(browser, live_server):
    order = make_delivered()
    staff = make_user(is_staff=True)
    half = order.total_cents // 2
    order_url = f"/orders/{order.pk}/"

    # The employer opens a dispute from the order page.
    employer = new_page(browser, live_server.url)
    sign_in(employer, order.employer.email)
    employer.goto(order_url)
    employer.get_by_test_id("dispute-open-link").get_by_role("link", name="open a dispute").click()
    employer.get_by_label("Quality").check()
    employer.get_by_label("Describe the problem").fill(COMPLAINT)
    employer.get_by_role("button", name="Open the dispute").click()
    expect(employer.get_by_test_id("dispute-status")).to_have_text("Open")
    expect(employer.get_by_test_id("order-status")).to_contain_text("In dispute")
    expect(employer.get_by_test_id("dispute")).to_contain_text(COMPLAINT)

    # Staff refund half in admin, with a note.
    admin = new_page(browser, live_server.url)
    sign_in(admin, staff.email)
    dispute = Dispute.objects.get(order=order)
    admin.goto("/admin/disputes/dispute/?status__exact=open")
    admin.get_by_role("link", name=str(dispute.pk), exact=True).click()
    admin.get_by_label("Refund part; pay the rest to the designer").check()
    admin.get_by_label("Amount to refund").fill(f"{half // 100}.{half % 100:02d}")
    admin.get_by_label("Resolution note").fill("Half back: the margin needed a remake, the rest was usable.")
    admin.get_by_role("button", name="Resolve the dispute").click()
    expect(admin.get_by_text("both parties were e-mailed the decision")).to_be_visible()

    # The employer sees the decision; the order is completed and can be reviewed.
    employer.reload()
    expect(employer.get_by_test_id("dispute-status")).to_have_text("Partly refunded")
    expect(employer.get_by_test_id("dispute-decision")).to_contain_text(f"{format_cents(half)} back to the client")
    expect(employer.get_by_test_id("order-status")).to_contain_text("Completed")
    write_review(employer, 3, BY_CLIENT)
    expect(employer.get_by_test_id("review-waiting")).to_contain_text("Waiting for the other side")

    designer = new_page(browser, live_server.url)
    sign_in(designer, order.freelancer.email)
    designer.goto(order_url)
    reviews = designer.get_by_test_id("order-reviews")
    expect(reviews).not_to_contain_text(BY_CLIENT)
    write_review(designer, 5, BY_DESIGNER)
    expect(reviews).to_contain_text(BY_CLIENT)
    expect(reviews).to_contain_text(BY_DESIGNER)

    employer.reload()
    expect(employer.get_by_test_id("order-reviews")).to_contain_text(BY_DESIGNER)
    assert reconcile().ok

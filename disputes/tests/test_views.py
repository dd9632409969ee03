"""The dispute page and the dispute block of the order page."""

import pytest
from django.urls import reverse

from accounts.tests.helpers import make_user
from disputes.models import Dispute
from disputes.services import Outcome, dispute_open, dispute_resolve
from disputes.tests.helpers import DESCRIPTION, make_accepted, make_delivered
from orders.tests.helpers import make_order, stl_upload

pytestmark = pytest.mark.django_db


def test_the_employer_opens_a_dispute_through_the_page(client):
    order = make_delivered()
    client.force_login(order.employer)
    detail = client.get(reverse("orders:detail", args=[order.pk]))
    url = reverse("disputes:open", args=[order.pk])
    assert url in detail.text
    form = client.get(url)
    assert form.status_code == 200 and "Describe the problem" in form.text

    answer = client.post(url, {"reason": "not_as_agreed", "description": DESCRIPTION, "hide_patient_data": "on",
                               "files": [stl_upload("margin.stl")]}, follow=True)
    assert "Your dispute is open" in answer.text
    dispute = Dispute.objects.get()
    assert (dispute.reason, dispute.order.status) == ("not_as_agreed", "disputed")
    page = client.get(reverse("orders:detail", args=[order.pk]))
    assert 'data-testid="dispute"' in page.text and DESCRIPTION in page.text
    assert url not in page.text  # no second dispute while one is open


def test_refused_input_shows_the_message_and_changes_nothing(client):
    order = make_accepted()
    client.force_login(order.employer)
    url = reverse("disputes:open", args=[order.pk])
    answer = client.post(url, {"reason": "quality", "description": "Bad."})
    assert answer.status_code == 200
    assert "Ensure this value has at least 20 characters" in answer.text
    tampered = client.post(url, {"reason": "refund-me-twice", "description": DESCRIPTION})
    assert "Choose what the dispute is about." in tampered.text
    assert not Dispute.objects.exists()


def test_the_designer_is_not_offered_a_dispute_and_outsiders_get_404(client):
    order = make_accepted()
    url = reverse("disputes:open", args=[order.pk])
    client.force_login(order.freelancer)
    assert url not in client.get(reverse("orders:detail", args=[order.pk])).text
    refused = client.post(url, {"reason": "quality", "description": DESCRIPTION}, follow=True)
    assert "A dispute cannot be opened on this order now." in refused.text
    client.force_login(make_user())
    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": "quality", "description": DESCRIPTION}).status_code == 404
    assert not Dispute.objects.exists()


def test_no_dispute_link_before_acceptance(client):
    order = make_order()
    client.force_login(order.employer)
    assert reverse("disputes:open", args=[order.pk]) not in client.get(reverse("orders:detail", args=[order.pk])).text
    assert client.get(reverse("disputes:open", args=[order.pk]), follow=True).status_code == 200
    assert not Dispute.objects.exists()


def test_both_parties_see_the_decision_and_the_thread_link(client):
    order = make_accepted()
    dispute = dispute_open(order=order, by=order.employer, reason="quality", description=DESCRIPTION)
    dispute_resolve(dispute=dispute, by=make_user(is_staff=True), outcome=Outcome.FULL_REFUND,
                    note="Refunded: the case was never started.")
    for user in (order.employer, order.freelancer):
        client.force_login(user)
        page = client.get(reverse("orders:detail", args=[order.pk]))
        assert "Refunded: the case was never started." in page.text
        assert 'data-testid="dispute-thread-link"' in page.text
        assert "Refunded in full on" in page.text and "Nothing was charged" not in page.text


def test_the_next_step_says_what_a_dispute_and_a_partial_refund_mean(client):
    from cadcam.money import format_cents

    order = make_delivered()
    dispute = dispute_open(order=order, by=order.employer, reason="quality", description=DESCRIPTION)
    client.force_login(order.freelancer)
    page = client.get(reverse("orders:detail", args=[order.pk]))
    assert "In dispute. Our team reviews both sides" in page.text and "Nothing was charged" not in page.text
    dispute_resolve(dispute=dispute, by=make_user(is_staff=True), outcome=Outcome.PARTIAL_REFUND, refund_cents=500,
                    note="Some back.")
    order.refresh_from_db()
    page = client.get(reverse("orders:detail", args=[order.pk]))
    assert f"{format_cents(order.owed_cents)} is due to you" in page.text
    assert order.owed_cents < order.net_cents  # the refunded part is not paid out


def test_more_than_ten_files_are_refused_with_a_message(client):
    order = make_accepted()
    client.force_login(order.employer)
    answer = client.post(reverse("disputes:open", args=[order.pk]), {
        "reason": "quality", "description": DESCRIPTION, "files": [stl_upload(f"part-{n}.stl") for n in range(11)],
    })
    assert "Attach at most 10 files." in answer.text
    assert not Dispute.objects.exists()

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.tests.helpers import make_user
from cadcam.errors import ApplicationError, InvalidTransition
from listings.tests.helpers import make_published
from orders.deadlines import orders_sweep
from orders.models import Order, OrderEvent
from orders.services import (
    order_accept,
    order_complete,
    order_create,
    order_decline,
    order_deliver,
    order_mark_authorized,
    order_request_revision,
    order_withdraw,
)
from orders.tests.helpers import make_order, race, stl_upload
from orders.transitions import allowed_actions
from payments.gateway import GatewayError, PaymentStatus
from payments.operations import PaymentStepPending
from payments.simulated import SimulatedGateway

pytestmark = pytest.mark.django_db
S = Order.Status


def payment_status(order):
    return SimulatedGateway().retrieve(order.payment_id).status


def events(order):
    return list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status"))


# --- creating: the server computes every amount ---------------------------------------------------


def test_amounts_are_computed_and_snapshotted_from_the_listing():
    listing = make_published(price_cents=1500, options=[("Express 24 h", 1500), ("Wax-up", 500)])
    express = listing.options.get(name="Express 24 h")

    order = make_order(listing=listing, quantity=3, option_ids=[express.pk], authorized=False)

    assert (order.unit_price_cents, order.quantity, order.options_cents) == (1500, 3, 1500)
    assert (order.total_cents, order.fee_cents, order.net_cents) == (6000, 540, 5460)
    assert [option.name for option in order.options.all()] == ["Express 24 h"]
    listing.price_cents = 9900
    listing.save(update_fields=["price_cents"])
    order.refresh_from_db()
    assert order.total_cents == 6000  # the snapshot does not follow later changes
    assert payment_status(order) == PaymentStatus.REQUIRES_PAYMENT


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quantity": 0}, "Choose a quantity from 1 to 100."),
        ({"quantity": 1000}, "Choose a quantity from 1 to 100."),
        ({"due_date": dt.date(2020, 1, 1)}, "The due date must be in the future."),
        ({"option_ids": [999999]}, "One of the chosen add-ons is not offered by this service."),
    ],
)
def test_bad_orders_are_refused_and_nothing_is_created(kwargs, message):
    listing = make_published()

    with pytest.raises(ApplicationError, match=message.replace(".", r"\.")):
        order_create(listing=listing, employer=make_user(), **kwargs)

    assert not Order.objects.exists()


def test_a_freelancer_cannot_order_their_own_listing():
    listing = make_published()

    with pytest.raises(ApplicationError, match=r"You cannot order your own service"):
        order_create(listing=listing, employer=listing.owner)


# --- paying ------------------------------------------------------------------------------------------


def test_authorization_asks_the_designer_once(django_capture_on_commit_callbacks):
    order = make_order(authorized=False)
    SimulatedGateway().customer_pays(payment_id=order.payment_id, approve=True)

    with django_capture_on_commit_callbacks(execute=True):
        order = order_mark_authorized(order=order)
        order_mark_authorized(order=order)  # the webhook arrives after the return page: nothing more

    assert order.status == S.REQUESTED
    assert order.accept_by == order.authorized_at + dt.timedelta(days=3)
    assert events(order) == [("", S.PENDING_PAYMENT), (S.PENDING_PAYMENT, S.REQUESTED)]
    assert sorted(message.subject for message in mail.outbox) == [
        f"[CadCam Masters] New case for you: {order.title}",
        f"[CadCam Masters] Your case was sent: {order.title}",
    ]


def test_an_unpaid_order_cannot_be_marked_authorized():
    order = make_order(authorized=False)

    with pytest.raises(ApplicationError, match=r"The payment is not authorized yet\."):
        order_mark_authorized(order=order)

    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT


def test_a_declined_card_leaves_the_order_waiting_for_payment():
    order = make_order(authorized=False)

    with pytest.raises(GatewayError) as refused:
        SimulatedGateway().customer_pays(payment_id=order.payment_id, approve=False)

    assert refused.value.message == "Your card was declined. Try another card."
    assert payment_status(order) == PaymentStatus.REQUIRES_PAYMENT


def test_accept_by_is_the_due_date_when_that_comes_first():
    due = timezone.localdate() + dt.timedelta(days=2)

    order = make_order(due_date=due)

    assert order.accept_by == timezone.make_aware(dt.datetime.combine(due, dt.time.min))


# --- the designer answers ----------------------------------------------------------------------------


def test_accept_captures_the_payment_and_sets_auto_completion(django_capture_on_commit_callbacks):
    order = make_order()

    with django_capture_on_commit_callbacks(execute=True):
        order = order_accept(order=order, by=order.freelancer)

    assert order.status == S.ACCEPTED
    assert payment_status(order) == PaymentStatus.SUCCEEDED
    assert order.auto_complete_at == order.accepted_at + dt.timedelta(days=30)
    receipt = next(message for message in mail.outbox if message.to == [order.freelancer.email])
    assert "Platform fee" in receipt.body and "You receive" in receipt.body


@pytest.mark.parametrize("action", ["decline", "withdraw"])
def test_decline_and_withdraw_release_the_authorization(action):
    order = make_order()

    if action == "decline":
        order = order_decline(order=order, by=order.freelancer, reason="Too busy this week")
    else:
        order = order_withdraw(order=order, by=order.employer)

    assert order.status == (S.DECLINED if action == "decline" else S.WITHDRAWN)
    assert payment_status(order) == PaymentStatus.CANCELED


def test_wrong_party_and_wrong_state_are_refused_with_a_message():
    order = make_order()
    stranger = make_user()

    with pytest.raises(ApplicationError, match=r"Only the designer of this order can do that\."):
        order_accept(order=order, by=order.employer)
    with pytest.raises(ApplicationError, match=r"Only the designer"):
        order_accept(order=order, by=stranger)
    with pytest.raises(ApplicationError, match=r"Only the client who sent this case can do that\."):
        order_withdraw(order=order, by=order.freelancer)
    with pytest.raises(InvalidTransition, match=r"that is not possible now"):
        order_complete(order=order, by=order.employer)

    order.refresh_from_db()
    assert order.status == S.REQUESTED
    assert payment_status(order) == PaymentStatus.REQUIRES_CAPTURE


def test_a_refused_capture_leaves_the_order_as_it_was_and_a_retry_is_a_new_attempt(monkeypatch):
    order = make_order()
    real_capture = SimulatedGateway.capture
    calls = []

    def refused_capture(self, **kwargs):
        calls.append(kwargs["idempotency_key"])
        raise GatewayError("The card issuer refused the capture.", detail="card_declined")

    monkeypatch.setattr(SimulatedGateway, "capture", refused_capture)
    with pytest.raises(ApplicationError, match=r"The card issuer refused the capture\. Nothing was changed"):
        order_accept(order=order, by=order.freelancer)
    order.refresh_from_db()
    assert order.status == S.REQUESTED
    assert (S.REQUESTED, S.ACCEPTED) not in events(order)

    monkeypatch.setattr(SimulatedGateway, "capture", real_capture)
    order = order_accept(order=order, by=order.freelancer)

    assert order.status == S.ACCEPTED
    # Each attempt has its own key: a retry after a refusal is not a replay of the refusal.
    assert calls == [f"capture:order-{order.pk}:1"]
    attempts = order.money_operations.filter(kind="capture").order_by("attempt")
    assert [(a.idempotency_key, a.state) for a in attempts] == [
        (f"capture:order-{order.pk}:1", "failed"), (f"capture:order-{order.pk}:2", "succeeded")]
    again = SimulatedGateway().capture(payment_id=order.payment_id, idempotency_key=f"capture:order-{order.pk}:2")
    assert again.status == PaymentStatus.SUCCEEDED  # same key: the first result, nothing captured twice


# --- work, revisions, completion ---------------------------------------------------------------------


def test_deliver_revise_deliver_complete():
    order = make_order()
    order_accept(order=order, by=order.freelancer)

    order_deliver(order=order, by=order.freelancer, note="First design", files=[stl_upload()])
    order = order_request_revision(order=Order.objects.get(pk=order.pk), by=order.employer, message="Thicker margin")
    second = order_deliver(order=order, by=order.freelancer, note="Margin 0.6 mm", files=[stl_upload()])
    order = order_complete(order=Order.objects.get(pk=order.pk), by=order.employer)

    assert second.number == 2
    assert order.revisions_used == 1
    assert order.status == S.COMPLETED
    assert order.payout_due_at == order.completed_at + dt.timedelta(days=7)
    assert [to for _, to in events(order)] == [
        S.PENDING_PAYMENT,
        S.REQUESTED,
        S.ACCEPTED,
        S.DELIVERED,
        S.ACCEPTED,
        S.DELIVERED,
        S.COMPLETED,
    ]


def test_revisions_stop_when_none_are_left():
    order = make_order(listing=make_published(revisions_included=0))
    order_accept(order=order, by=order.freelancer)
    order_deliver(order=order, by=order.freelancer, files=[stl_upload()])

    assert "request_revision" not in allowed_actions(Order.objects.get(pk=order.pk), order.employer)
    with pytest.raises(ApplicationError, match=r"All the revisions included in this order are used"):
        order_request_revision(order=order, by=order.employer, message="Again please")


def test_allowed_actions_per_viewer():
    order = make_order()

    assert allowed_actions(order, order.freelancer) == ["accept", "decline"]
    assert allowed_actions(order, order.employer) == ["withdraw"]
    assert allowed_actions(order, make_user()) == []


# --- deadlines ------------------------------------------------------------------------------------------


def test_sweep_expires_unanswered_requests_and_drops_unpaid_orders():
    unanswered = make_order()
    unpaid = make_order(authorized=False)

    with time_machine.travel(timezone.now() + dt.timedelta(days=3, minutes=1)):
        result = orders_sweep()

    assert sorted(result.expired) == sorted([unanswered.pk, unpaid.pk])
    for order in (unanswered, unpaid):
        order.refresh_from_db()
        assert order.status == S.EXPIRED
        assert payment_status(order) == PaymentStatus.CANCELED
    assert orders_sweep().expired == []  # a second sweep changes nothing


def test_sweep_reminds_the_designer_a_day_before_and_completes_after_30_days(django_capture_on_commit_callbacks):
    waiting = make_order()
    working = make_order()
    order_accept(order=working, by=working.freelancer)

    with (
        time_machine.travel(timezone.now() + dt.timedelta(days=2, hours=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        reminded = orders_sweep().reminded
    assert reminded == [waiting.pk]
    # One e-mail to the designer for the sweep, naming the order and linking to it.
    [reminder] = [message for message in mail.outbox if message.to == [waiting.freelancer.email]]
    assert reminder.subject == "[CadCam Masters] Your orders: 1 waiting for your answer"
    assert f'Order #{waiting.pk} "{waiting.title}" waits for your answer. Accept or decline by' in reminder.body
    assert f"://{settings.SITE_DOMAIN}{reverse('orders:detail', args=[waiting.pk])}\n" in reminder.body

    with time_machine.travel(timezone.now() + dt.timedelta(days=30, minutes=1)):
        result = orders_sweep()
    working.refresh_from_db()
    assert result.completed == [working.pk]
    assert working.status == S.COMPLETED
    assert OrderEvent.objects.filter(order=working, to_status=S.COMPLETED, actor__isnull=True).count() == 1


# --- concurrency on PostgreSQL ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_accept_and_decline_at_once_exactly_one_wins_with_one_gateway_call(monkeypatch):
    order = make_order()
    calls = []
    for name in ("capture", "cancel"):
        real = getattr(SimulatedGateway, name)

        def counted(self, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(self, **kwargs)

        monkeypatch.setattr(SimulatedGateway, name, counted)

    outcomes = race(
        lambda: order_accept(order=order, by=order.freelancer),
        lambda: order_decline(order=order, by=order.freelancer),
    )

    order.refresh_from_db()
    assert sum(outcome is None for outcome in outcomes) == 1
    # The loser is refused: either the winner moved the order, or its payment step is still being confirmed.
    assert all(isinstance(outcome, (InvalidTransition, PaymentStepPending)) for outcome in outcomes if outcome)
    assert len(calls) == 1
    assert order.status in (S.ACCEPTED, S.DECLINED)
    assert OrderEvent.objects.filter(order=order, from_status=S.REQUESTED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_sweep_and_the_employer_complete_an_order_once():
    order = make_order()
    order_accept(order=order, by=order.freelancer)
    later = timezone.now() + dt.timedelta(days=31)

    outcomes = race(
        lambda: order_complete(order=order, by=order.employer),
        lambda: orders_sweep(now=later),
    )

    assert all(outcome is None or isinstance(outcome, InvalidTransition) for outcome in outcomes)
    assert OrderEvent.objects.filter(order=order, to_status=S.COMPLETED).count() == 1
    order.refresh_from_db()
    assert order.status == S.COMPLETED


def test_staff_find_orders_in_admin_and_cannot_edit_their_state(client):
    order = make_order()
    client.force_login(make_user(is_staff=True))

    found = client.get("/admin/orders/order/", {"q": order.employer.email})
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    assert [row.pk for row in found.context["cl"].result_list] == [order.pk]
    assert 'name="status"' not in page
    assert "requested" in page  # the timeline inline


def _subjects_after(django_capture_on_commit_callbacks, action):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        action()
    return sorted((message.to[0], message.subject.removeprefix("[CadCam Masters] ")) for message in mail.outbox)


def test_each_transition_emails_the_right_people(django_capture_on_commit_callbacks):
    order = make_order()
    employer, freelancer = order.employer.email, order.freelancer.email
    n = order.pk

    def run(action):
        return _subjects_after(django_capture_on_commit_callbacks, action)

    assert run(lambda: order_accept(order=order, by=order.freelancer)) == sorted(
        [(employer, f"Receipt — order #{n} accepted"), (freelancer, f"Receipt — order #{n} accepted")]
    )
    assert run(lambda: order_deliver(order=order, by=order.freelancer, files=[stl_upload()])) == [
        (employer, f"Your designs are ready: order #{n}")
    ]
    assert run(lambda: order_request_revision(order=order, by=order.employer, message="Thicker")) == [
        (freelancer, f"Revision requested: order #{n}")
    ]
    order_deliver(order=order, by=order.freelancer, files=[stl_upload()])
    assert run(lambda: order_complete(order=order, by=order.employer)) == sorted(
        [(employer, f"Order #{n} is complete"), (freelancer, f"Order #{n} is complete")]
    )

    declined = make_order()
    assert [subject for _, subject in run(lambda: order_decline(order=declined, by=declined.freelancer))] == [
        f"Order #{declined.pk} was declined"
    ] * 2
    withdrawn = make_order()
    assert [subject for _, subject in run(lambda: order_withdraw(order=withdrawn, by=withdrawn.employer))] == [
        f"Order #{withdrawn.pk} was withdrawn"
    ] * 2

"""Demo dispute for `make run` (called from cadcam/management/commands/seed_demo.py).

A case from the demo lab (@employer) to the demo designer (@freelancer), delivered and then
disputed by the lab with a reason and a photo-free description, so staff find an open
dispute to resolve in admin (Disputes) with its three-party thread. Walked through the real
services; recognised by its lab reference (DSP-...), so running the seed again creates
nothing new."""

from __future__ import annotations

from accounts.models import User
from disputes.models import Dispute
from disputes.services import dispute_open
from listings.models import Listing
from messaging.services import conversation_for_dispute, message_send
from orders.demo import PREMOLAR, dental_stl, die
from orders.models import Order
from orders.services import order_accept, order_create, order_deliver, order_mark_authorized
from payments.simulated import SimulatedGateway

REF = "DSP-0311"
LISTING = "Zirconia crowns and bridges designed in exocad, ready to mill"
INSTRUCTIONS = ("Teeth 24 and 25, two splinted zirconia crowns, shade A2.\n"
                "Keep 0.5 mm cement gap at the margins; the antagonist scan is in the file.")
COMPLAINT = ("The crowns on 24 and 25 were designed as single units, not splinted as the instructions say, "
             "and the margin on 25 stops about 0.3 mm short of the preparation line. We cannot mill this design "
             "as it is.")
ANSWER = ("I designed them single because the connector area would have been under 9 mm². I can splint them if "
          "the lab accepts a thinner connector; the margin on 25 follows the line I traced on the die.")


def seed_dispute(users: dict[str, User]) -> Dispute:
    employer, freelancer = users["employer"], users["freelancer"]
    existing = Dispute.objects.filter(order__employer=employer,
                                      order__instructions__startswith=f"Lab ref {REF}\n").first()
    return existing or _create(employer=employer, freelancer=freelancer)


def _create(*, employer: User, freelancer: User) -> Dispute:
    listing = Listing.objects.get(owner=freelancer, title=LISTING, edit_of__isnull=True, is_private=False)
    order = order_create(
        listing=listing, employer=employer, quantity=2, instructions=f"Lab ref {REF}\n{INSTRUCTIONS}",
        files=[dental_stl("case-24-25.stl", [die(PREMOLAR), die(PREMOLAR)], title=f"{REF} preparation scan")],
    )
    SimulatedGateway().customer_pays(payment_id=order.payment_id, approve=True)
    order = order_accept(order=order_mark_authorized(order=order), by=freelancer)
    order_deliver(order=order, by=freelancer, note="Crowns 24 and 25, single units.",
                  files=[dental_stl("design-24-25.stl", [PREMOLAR, PREMOLAR], title=f"{REF} design")])
    order = Order.objects.get(pk=order.pk)
    dispute = dispute_open(order=order, by=employer, reason=Dispute.Reason.NOT_AS_AGREED, description=COMPLAINT)
    message_send(conversation=conversation_for_dispute(order=order, dispute_id=dispute.pk), sender=freelancer,
                 body=ANSWER)
    return dispute

"""Demo reviews for `make run` (called from cadcam/management/commands/seed_demo.py).

The completed demo order between @employer and @freelancer (lab ref BSL-2041, from
orders/demo.py) gets a review from each side, so both are visible and Elena replies to hers.
A few more cases, walked to "completed" through the order services (lab refs REV-...), give
the other designers' listings ratings, so "Best rated" and the rating filter have something
to show. Reviews go through reviews.services; running the seed again creates nothing new."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import User
from listings.models import Listing
from orders.demo import MOLAR, PREMOLAR, dental_stl, die
from orders.models import Order
from orders.services import order_accept, order_complete, order_create, order_deliver, order_mark_authorized
from payments.simulated import SimulatedGateway
from reviews.models import Review
from reviews.services import review_create, review_reply, review_window_is_open


@dataclass(frozen=True)
class DemoReview:
    rating: int
    comment: str


@dataclass(frozen=True)
class DemoCase:
    ref: str
    employer: str  # username
    listing: str  # title of the designer's listing
    instructions: str
    of_designer: DemoReview  # written by the client
    of_client: DemoReview  # written by the designer
    reply: str = ""  # the designer's public reply to the client's review


COMPLETED_ORDER_REF = "BSL-2041"
COMPLETED_ORDER_REVIEWS = (
    DemoReview(5, "Elena closed the contact on 35 within an hour of my note and the crown seated without "
                  "adjustment. Clear delivery notes, exact margins. Our first choice for zirconia work."),
    DemoReview(5, "A well-prepared case: clean scan, bite registration and shade in the instructions, "
                  "and quick, precise feedback on the first design. A pleasure to work with."),
)
COMPLETED_ORDER_REPLY = "Thank you! Happy to take the next posterior cases whenever you need them."

DEMO_CASES = [
    DemoCase(
        ref="REV-3101", employer="employer", listing="Custom abutments and screw-retained crowns on Ti-base",
        instructions="Tooth 46, screw-retained crown on a Ti-base (Straumann RN), angled channel allowed.",
        of_designer=DemoReview(5, "Emergence profile exactly as asked and the screw channel kept clear of the "
                                  "cusp. Delivered a day early."),
        of_client=DemoReview(4, "Complete scan body data and a clear prescription; one library question "
                                "answered quickly."),
        reply="Thanks for the clean scan body data, it makes all the difference.",
    ),
    DemoCase(
        ref="REV-3102", employer="employer", listing="Digital full dentures with printable try-in",
        instructions="Upper and lower complete dentures, printed try-in first. Bite rims scanned together.",
        of_designer=DemoReview(4, "Good tooth set-up and a try-in that fitted; the lower midline needed one "
                                  "small correction after the try-in."),
        of_client=DemoReview(5, "Very good records and fast feedback after the try-in. Recommended."),
    ),
    DemoCase(
        ref="REV-3103", employer="freelancer", listing="All-on-4 and All-on-6 titanium bars and hybrid bridges",
        instructions="All-on-4 upper bar, multi-unit abutments, titanium milled, hybrid bridge on top.",
        of_designer=DemoReview(4, "Solid bar design with good hygiene access; passive fit confirmed on the "
                                  "verification jig."),
        of_client=DemoReview(5, "A designer as a client: precise prescription and all the files at once."),
    ),
]


def seed_reviews(users: dict[str, User], orders: list[Order]) -> list[Review]:
    """Create the demo reviews (and the orders they need) that do not exist yet; return them all."""
    employer, freelancer = users["employer"], users["freelancer"]
    completed = next(
        (order for order in orders if order.instructions.startswith(f"Lab ref {COMPLETED_ORDER_REF}\n")), None
    )
    reviews = []
    if completed is not None and completed.status == Order.Status.COMPLETED:
        of_designer, of_client = COMPLETED_ORDER_REVIEWS
        reviews += _review_both(completed, employer, freelancer, of_designer, of_client, COMPLETED_ORDER_REPLY)
    for case in DEMO_CASES:
        order = _completed_order(case, users)
        reviews += _review_both(order, order.employer, order.freelancer, case.of_designer, case.of_client,
                                case.reply)
    return reviews


def _review_both(order: Order, client: User, designer: User, of_designer: DemoReview, of_client: DemoReview,
                 reply: str) -> list[Review]:
    made = []
    for author, spec in ((client, of_designer), (designer, of_client)):
        review = Review.objects.filter(order=order, author=author).first()
        if review is None and review_window_is_open(order):  # a demo database older than 14 days keeps what it has
            review = review_create(order=order, author=author, rating=spec.rating, comment=spec.comment)
        if review is not None:
            made.append(review)
    if len(made) != 2:
        return made
    review_of_designer = Review.objects.get(pk=made[0].pk)
    if reply and review_of_designer.visible_at and not review_of_designer.replied_at:
        review_reply(review=review_of_designer, by=designer, text=reply)
    return made


def _completed_order(case: DemoCase, users: dict[str, User]) -> Order:
    employer = users[case.employer]
    instructions = f"Lab ref {case.ref}\n{case.instructions}"
    existing = Order.objects.filter(employer=employer, instructions=instructions).first()
    return existing or _create_completed(case, employer=employer, instructions=instructions)


def _create_completed(case: DemoCase, *, employer: User, instructions: str) -> Order:
    listing = Listing.objects.get(title=case.listing, edit_of__isnull=True, is_private=False)
    designer = listing.owner
    order = order_create(
        listing=listing, employer=employer, instructions=instructions,
        files=[dental_stl(f"case-{case.ref}.stl", [die(MOLAR)], title=f"{case.ref} scan")],
    )
    SimulatedGateway().customer_pays(payment_id=order.payment_id, approve=True)
    order = order_mark_authorized(order=order)
    order = order_accept(order=order, by=designer)
    order_deliver(order=order, by=designer, note="Design attached.",
                  files=[dental_stl(f"design-{case.ref}.stl", [PREMOLAR], title=f"{case.ref} design")])
    order = order_complete(order=order, by=employer)
    order.refresh_from_db()
    return order

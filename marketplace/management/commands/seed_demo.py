from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.demo import DEMO_PASSWORD, DEMO_USERS, seed_users
from disputes.demo import seed_dispute
from listings.demo import seed_listings
from messaging.demo import seed_messages
from orders.demo import seed_orders
from orders.models import Order
from payments.backends import get_gateway
from payouts.demo import seed_payouts
from payouts.services import payouts_open
from reviews.demo import seed_reviews


class Command(BaseCommand):
    help = "Create or refresh the demo data shown by `make run`. Safe to run any number of times."

    def handle(self, *args, **options):
        users = seed_users()
        seed_listings(users)
        seed_messages(users)
        # Orders need a card payment. The simulated gateway's test card pays them; with Stripe
        # configured, a card is only ever entered by a person in the browser, so nothing that
        # needs one is seeded (and no PaymentIntent is left behind).
        simulated = get_gateway().name == "simulated"
        orders = seed_orders(users) if simulated else []
        history = seed_payouts(users) if simulated else []
        if simulated:
            seed_reviews(users, orders)
        dispute = seed_dispute(users) if simulated else None
        payouts_open()  # the beat task does this within a minute; the demo shows it at once
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        if orders:
            states = ", ".join(order.get_status_display().lower() for order in orders)
            self.stdout.write(f"  Demo orders from @employer to @freelancer: {states}.")
        if history:
            self.stdout.write(f"  @freelancer has payouts connected (test mode) and {len(history)} completed cases "
                              "over the past months: see /payouts/.")
        if dispute:
            self.stdout.write(f"  Open dispute for staff to resolve: order #{dispute.order_id} (admin > Disputes).")
        if not simulated:
            self.stdout.write(self.style.WARNING(
                "  Stripe is configured: orders, the earnings history, reviews and the dispute were not seeded "
                "(each needs a card payment). Send a case as employer@cadcam.test and pay with the test card "
                "4242 4242 4242 4242."))
            if Order.objects.filter(instructions__startswith="Lab ref ").exists():
                self.stdout.write(self.style.WARNING(
                    "  Demo orders from an earlier run without Stripe are still in this database; their payments "
                    "exist only in the simulated gateway. Start from a fresh database (make clean-data) to use "
                    "Stripe alone."))
        self.stdout.write("  Demo messages: @employer asked @freelancer about a listing (STL attached); "
                          "@employer has an open support request.")
        self.stdout.write(f"\n  Open http://{settings.SITE_DOMAIN}/\n")
        self.stdout.write(f"  Demo logins (password: {DEMO_PASSWORD}):")
        for spec in DEMO_USERS:
            role = "staff, opens /admin/" if spec.is_staff else f"@{spec.username}"
            self.stdout.write(f"    {spec.email:<26} {role}")
        self.stdout.write("")

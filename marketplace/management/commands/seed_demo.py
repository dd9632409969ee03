from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.demo import DEMO_PASSWORD, DEMO_USERS, seed_users
from disputes.demo import seed_dispute
from listings.demo import seed_listings
from messaging.demo import seed_messages
from orders.demo import seed_orders
from payouts.demo import seed_payouts
from payouts.services import payouts_open
from reviews.demo import seed_reviews


class Command(BaseCommand):
    help = "Create or refresh the demo data shown by `make run`. Safe to run any number of times."

    def handle(self, *args, **options):
        users = seed_users()
        seed_listings(users)
        orders = seed_orders(users)
        history = seed_payouts(users)
        seed_reviews(users, orders)
        seed_messages(users)
        dispute = seed_dispute(users)
        payouts_open()  # the beat task does this within a minute; the demo shows it at once
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        states = ", ".join(order.get_status_display().lower() for order in orders)
        self.stdout.write(f"  Demo orders from @employer to @freelancer: {states}.")
        if history:
            self.stdout.write(f"  @freelancer has payouts connected (test mode) and {len(history)} completed cases "
                              "over the past months: see /payouts/.")
        self.stdout.write(f"  Open dispute for staff to resolve: order #{dispute.order_id} (admin > Disputes).")
        self.stdout.write("  Demo messages: @employer asked @freelancer about a listing (STL attached); "
                          "@employer has an open support request.")
        self.stdout.write(f"\n  Open http://{settings.SITE_DOMAIN}/\n")
        self.stdout.write(f"  Demo logins (password: {DEMO_PASSWORD}):")
        for spec in DEMO_USERS:
            role = "staff, opens /admin/" if spec.is_staff else f"@{spec.username}"
            self.stdout.write(f"    {spec.email:<26} {role}")
        self.stdout.write("")

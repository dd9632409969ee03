from django.core.management.base import BaseCommand

from orders.deadlines import orders_sweep


class Command(BaseCommand):
    help = "Run one deadline sweep in this process: expire, auto-complete and remind the orders that are due."

    def handle(self, *args, **options):
        result = orders_sweep()
        if result.skipped:
            self.stdout.write("Another deadline sweep is running: nothing done.")
            return
        self.stdout.write(
            f"expired {len(result.expired)}, completed {len(result.completed)}, reminders {len(result.reminded)}, "
            f"waiting for a payment step {len(result.waiting)}, refused by the gateway {len(result.failed)}, "
            f"e-mails {result.emails}, chunks {result.chunks} ({result.chunks_failed} failed)"
        )

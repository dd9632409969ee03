from datetime import timedelta

from django.core.management.base import BaseCommand

from payments.models import MoneyOperation
from payments.operations import RECOVER_AFTER, money_recover


class Command(BaseCommand):
    help = ("Finish the gateway calls whose answer was lost: ask the payment service what became of every "
            "attempt still waiting for its outcome, and do the work it leads to. The beat runs it every minute.")

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=int(RECOVER_AFTER.total_seconds() // 60),
                            metavar="MINUTES",
                            help="Only attempts started at least this long ago (default: %(default)s; younger "
                                 "ones may still be on their way).")

    def handle(self, *args, older_than, **options):
        counts = money_recover(older_than=timedelta(minutes=older_than))
        self.stdout.write(f"Succeeded: {counts['succeeded']}, failed (nothing moved): {counts['failed']}, "
                          f"no answer yet: {counts['waiting']}, errors: {counts['errors']}")
        waiting = MoneyOperation.objects.filter(state=MoneyOperation.State.STARTED).count()
        if waiting:
            self.stdout.write(self.style.WARNING(f"{waiting} attempt(s) still wait for their outcome."))

from datetime import date, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cadcam.money import format_cents
from payments.models import LedgerEntry
from payments.reconcile import reconcile, reconcile_gateway


class Command(BaseCommand):
    help = ("Check every order's money: captured = refunded + fee + transferred + charged back + still held, "
            "each kind against the order's state and its payout, no attempt left with an unknown outcome. "
            "With --gateway, also compare every order with the payment service's own records. Exits non-zero "
            "on any difference.")

    def add_arguments(self, parser):
        parser.add_argument("--gateway", action="store_true",
                            help="Also ask the payment service about each order and compare.")
        parser.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD",
                            help="With --gateway: only orders created since this date.")

    def handle(self, *args, gateway=False, since=None, **options):
        report = reconcile()
        self.stdout.write(f"Orders checked: {report.orders}")
        for kind, label in LedgerEntry.Kind.choices:
            self.stdout.write(f"  {label + ':':<24} {format_cents(report.totals.get(kind, 0))}")
        for loss in report.losses:
            self.stdout.write(self.style.WARNING(f"  {loss}"))
        problems = list(report.problems)
        if gateway:
            start = timezone.make_aware(datetime.combine(since, time.min)) if since else None
            at_gateway = reconcile_gateway(since=start)
            self.stdout.write(f"Orders compared with the payment service: {at_gateway.orders}")
            problems += at_gateway.problems
        if not problems:
            self.stdout.write(self.style.SUCCESS("Every order reconciles." if not gateway else
                                                 "Every order reconciles, with the payment service too."))
            return
        for problem in problems:
            self.stderr.write(f"  {problem}")
        raise CommandError(f"{len(problems)} mismatch(es) found.")

from django.core.management.base import BaseCommand, CommandError

from cadcam.money import format_cents
from payments.models import LedgerEntry
from payments.reconcile import reconcile


class Command(BaseCommand):
    help = ("Check every order's money: captured = refunded + fee + transferred + still held; no order "
            "transferred twice; every cleared completed order transferred or held for a recorded reason. "
            "Exits non-zero on any mismatch.")

    def handle(self, *args, **options):
        report = reconcile()
        self.stdout.write(f"Orders checked: {report.orders}")
        for kind, label in LedgerEntry.Kind.choices:
            self.stdout.write(f"  {label + ':':<20} {format_cents(report.totals.get(kind, 0))}")
        for loss in report.losses:
            self.stdout.write(self.style.WARNING(f"  {loss}"))
        if report.ok:
            self.stdout.write(self.style.SUCCESS("Every order reconciles."))
            return
        for problem in report.problems:
            self.stderr.write(f"  {problem}")
        raise CommandError(f"{len(report.problems)} mismatch(es) found.")

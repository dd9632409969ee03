"""How much the private files hold: case and delivery files by the order's state, message
attachments by kind of conversation, ID documents by request state; then the accounts that
hold the most, with what of it counts against their quota for unpaid cases.

    python manage.py storage_report            # the 20 accounts that hold the most
    python manage.py storage_report --top 100

Rows, not the disk: a deleted file has an empty name and is not counted."""

from django.core.management.base import BaseCommand
from django.db.models import Count, Sum
from django.template.defaultfilters import filesizeformat

from accounts.models import User, VerificationRequest
from messaging.models import Attachment
from orders.models import OrderFile
from orders.selectors import unpaid_case_files_bytes


def _by(queryset, field: str) -> list[tuple[str, int, int]]:
    rows = queryset.values(field).annotate(files=Count("pk"), size=Sum("size")).order_by("-size")
    return [(row[field], row["files"], row["size"] or 0) for row in rows]


class Command(BaseCommand):
    help = "Print how much storage the private files hold, by kind and state, and by account."

    def add_arguments(self, parser):
        parser.add_argument("--top", type=int, default=20, help="How many accounts to list (default 20).")

    def handle(self, *args, top: int, **options):
        order_files = OrderFile.objects.filter(deleted_at__isnull=True)
        attachments = Attachment.objects.all()
        documents = VerificationRequest.objects.exclude(document="")
        sections = [
            ("Case and delivery files, by order state", _by(order_files, "order__status")),
            ("Message attachments, by conversation", _by(attachments, "message__conversation__kind")),
        ]
        for title, rows in sections:
            self._table(title, rows)
        counts = ", ".join(f"{status} {n}" for status, n in _count(documents)) or "none"
        self.stdout.write(f"ID documents on file, by request state: {counts}")

        self.stdout.write("")
        self.stdout.write(f"Accounts holding the most (top {top}):")
        case_files = _per_account(order_files, "uploaded_by")
        sent = _per_account(attachments, "message__sender")
        holders = sorted(set(case_files) | set(sent), key=lambda pk: -(case_files.get(pk, 0) + sent.get(pk, 0)))[:top]
        users = User.objects.in_bulk(holders)
        for pk in holders:
            self.stdout.write(
                f"  {users[pk].email:<40} case and delivery files {filesizeformat(case_files.get(pk, 0)):>10}"
                f"   of them on unpaid cases {filesizeformat(unpaid_case_files_bytes(users[pk])):>10}"
                f"   attachments {filesizeformat(sent.get(pk, 0)):>10}"
            )
        if not holders:
            self.stdout.write("  none")

    def _table(self, title: str, rows) -> None:
        self.stdout.write(f"{title}:")
        for label, files, size in rows:
            self.stdout.write(f"  {label:<20} {files:>7} files {filesizeformat(size):>12}")
        total_files = sum(row[1] for row in rows)
        total_size = sum(row[2] for row in rows)
        self.stdout.write(f"  {'total':<20} {total_files:>7} files {filesizeformat(total_size):>12}")


def _per_account(queryset, field: str) -> dict[int, int]:
    return dict(queryset.values_list(field).annotate(size=Sum("size")).values_list(field, "size"))


def _count(queryset) -> list[tuple[str, int]]:
    return list(queryset.values_list("status").annotate(n=Count("pk")).values_list("status", "n").order_by("status"))

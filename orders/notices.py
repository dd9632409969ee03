"""The deadline sweep's e-mails: one per recipient per sweep, listing their orders.

A sweep over many orders would otherwise send one e-mail per order and party (and a Celery
task for each). Instead, each change the sweep makes records an `OrderNotice` for each party
in the same transaction (`order_notices_record`), and when the sweep's chunks are done,
`order_notices_send` e-mails every recipient once with all of theirs: what expired, what
completed, what waits for them. A notice is marked sent in the transaction that queues its
e-mail, so a sweep that dies leaves its notices for the next one, and none is sent twice.
Changes people make themselves are still e-mailed one by one (orders/transitions.py).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from cadcam.emails import send_templated_email
from orders.models import Order, OrderNotice
from orders.transitions import EMPLOYER, FREELANCER

N = OrderNotice.Kind
TO = {N.EXPIRED: (EMPLOYER, FREELANCER), N.COMPLETED: (EMPLOYER, FREELANCER),
      N.ACCEPT_REMINDER: (FREELANCER,), N.COMPLETE_REMINDER: (EMPLOYER,)}
# (kind, heading, few words for the subject), in the order the e-mail lists them.
GROUPS = [
    (N.ACCEPT_REMINDER, "Waiting for your answer", "waiting for your answer"),
    (N.COMPLETE_REMINDER, "Completing automatically in 3 days", "completing in 3 days"),
    (N.COMPLETED, "Completed", "completed"),
    (N.EXPIRED, "Expired", "expired"),
]
PER_EMAIL = 1000  # notices one e-mail covers at most (a recipient with more gets another)
LISTED = 50  # orders named per group; the rest are counted, with a link to the dashboard
RECIPIENTS_PAGE = 200


def order_notices_record(orders: Sequence[Order], kind: str, *, notes: dict[int, str] | None = None) -> None:
    """Record, for each party of each order that hears of `kind`, what happened (one INSERT)."""
    notes = notes or {}
    OrderNotice.objects.bulk_create(
        OrderNotice(order_id=order.pk, recipient_id=order.employer_id if role == EMPLOYER else order.freelancer_id,
                    role=role, kind=kind, note=notes.get(order.pk, "")[:200])
        for order in orders for role in TO[kind]
    )


def order_notices_recipient_pages(*, size: int | None = None):
    """The recipients with notices not sent yet, as (first, last) ids of pages of `size`
    (keyset: each query has a LIMIT), for sending in parallel."""
    size, after = size or RECIPIENTS_PAGE, 0
    while True:
        recipients = list(OrderNotice.objects.filter(sent_at__isnull=True, recipient_id__gt=after)
                          .order_by("recipient_id").values_list("recipient_id", flat=True).distinct()[:size])
        if not recipients:
            return
        yield recipients[0], recipients[-1]
        if len(recipients) < size:
            return
        after = recipients[-1]


def order_notices_send(*, until: float | None = None, first: int = 1, last: int | None = None) -> tuple[int, bool]:
    """E-mail every recipient (with ids from `first` to `last`) who has notices not sent yet,
    once, listing them. Returns the e-mails queued and whether some recipients are left because
    `until` (time.monotonic()) passed. Two runs at once never e-mail the same notice twice: each
    locks the notices it sends and skips those another holds. Recipients are read in pages
    (keyset on their id), their notices at most PER_EMAIL at a time."""
    sent, after = 0, first - 1
    unsent = OrderNotice.objects.filter(sent_at__isnull=True)
    if last is not None:
        unsent = unsent.filter(recipient_id__lte=last)
    while True:
        recipients = list(unsent.filter(recipient_id__gt=after).order_by("recipient_id")
                          .values_list("recipient_id", flat=True).distinct()[:RECIPIENTS_PAGE])
        for recipient_id in recipients:
            while True:
                if until is not None and time.monotonic() > until:
                    return sent, True
                covered = _send_to(recipient_id)
                sent += covered > 0
                if covered < PER_EMAIL:
                    break
        if len(recipients) < RECIPIENTS_PAGE:
            return sent, False
        after = recipients[-1]


def _send_to(recipient_id: int) -> int:
    """One e-mail to one recipient about (up to PER_EMAIL of) their notices; how many it covered."""
    with transaction.atomic():
        # Locked, and skipped by a second sender meanwhile: each notice is e-mailed once even if
        # two sweeps' pages meet (the sweep's lock can lapse behind a Celery backlog).
        notices = list(OrderNotice.objects.filter(recipient_id=recipient_id, sent_at__isnull=True)
                       .select_related("order").select_for_update(skip_locked=True, of=("self",))
                       .order_by("pk")[:PER_EMAIL])
        if not notices:
            return 0
        recipient = User.objects.select_related("profile").get(pk=recipient_id)
        groups = []
        for kind, title, short in GROUPS:
            of_kind = [notice for notice in notices if notice.kind == kind]
            if of_kind:
                groups.append({"kind": kind, "title": title, "short": short, "count": len(of_kind),
                               "listed": of_kind[:LISTED], "more": max(0, len(of_kind) - LISTED)})
        send_templated_email(to=recipient.email, template="order_digest",
                             context={"recipient": recipient, "groups": groups, "count": len(notices)})
        OrderNotice.objects.filter(pk__in=[notice.pk for notice in notices]).update(sent_at=timezone.now())
    return len(notices)

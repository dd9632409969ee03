"""The people and private objects the security suite probes, built through the project's
services and test helpers, each only when a test first asks for it; a signed-in test client
per role; and a fingerprint of the whole database to prove a refused request changed
nothing."""

from __future__ import annotations

from functools import cached_property

from allauth.mfa.models import Authenticator
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.forms import CheckboxInput
from django.test import Client

from accounts.models import VerificationRequest
from accounts.tests.helpers import make_user, sign_in_with_mfa
from disputes.tests.helpers import DESCRIPTION, make_accepted, make_delivered, make_disputed
from listings.tests.helpers import make_draft, make_published, make_verified_seller
from messaging.models import Attachment, Conversation
from messaging.services import conversation_for_order, message_send, support_request_open
from messaging.tests.helpers import make_direct
from orders.models import OrderFile
from orders.services import order_create
from orders.tests.helpers import make_order, stl_upload
from payouts.tests.helpers import connect_payouts
from reviews.models import Review
from reviews.services import review_create
from reviews.tests.helpers import GOOD, completed_order

CONSTRUCTION_INFO = b"""<?xml version="1.0" encoding="utf-8"?>
<ConstructionInfo>
  <ProjectName>Kowalski_Anna_crown</ProjectName>
  <PatientFirstName>Anna</PatientFirstName><PatientLastName>Kowalski</PatientLastName>
  <PatientBirthdate>1975-03-14</PatientBirthdate>
  <Teeth><Tooth><Number>36</Number><ReconstructionType>Crown</ReconstructionType></Tooth></Teeth>
</ConstructionInfo>"""

ANONYMOUS = "anonymous"
STRANGER = "stranger"
EMPLOYER = "employer"
FREELANCER = "freelancer"
RECIPIENT = "recipient"
STAFF_PLAIN = "staff_plain"  # staff whose session has not completed the second factor
STAFF_MFA = "staff_mfa"  # staff whose session has
ROLES = (ANONYMOUS, STRANGER, EMPLOYER, FREELANCER, RECIPIENT, STAFF_PLAIN, STAFF_MFA)


def construction_info_upload(name: str = "case.constructionInfo") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, CONSTRUCTION_INFO)


def case_files() -> list[SimpleUploadedFile]:
    """A mesh and an exocad project summary (the two kinds of file pages: download, summary)."""
    return [stl_upload("crown.stl"), construction_info_upload()]


def totp_authenticator(user) -> Authenticator:
    authenticator, _ = Authenticator.objects.get_or_create(
        user=user, type=Authenticator.Type.TOTP, defaults={"data": {"secret": "JBSWY3DPEHPK3PXP"}}
    )
    return authenticator


def initial_post_data(form) -> dict:
    """What the browser would send back for an unchanged form (file fields left empty)."""
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None or name == "photo":
            continue
        if isinstance(field.widget, CheckboxInput):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(item) for item in value]
        else:
            data[name] = str(value)
    return data


# --- "nothing changed" ----------------------------------------------------------------------------------

# Sessions change with every sign-in and carry no business data.
UNWATCHED_TABLES = {"django_session"}


def _watched_tables() -> list[str]:
    tables = {model._meta.db_table for model in apps.get_models(include_auto_created=True)
              if model._meta.managed and not model._meta.proxy}
    return sorted(tables - UNWATCHED_TABLES)


def db_fingerprint(tables: list[str] | None = None) -> dict[str, str]:
    """One hash per table of every row (one query): equal fingerprints, same data."""
    tables = _watched_tables() if tables is None else tables
    if not tables:
        return {}
    sql = " UNION ALL ".join(
        f"SELECT '{table}', md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table}\" t"
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def _write_counts() -> dict[str, tuple]:
    """Rows inserted, updated and deleted per table so far in this transaction (PostgreSQL's own
    counters: one cheap query)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables")
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


class DbWatcher:
    """Which tables' data a request changed. PostgreSQL's write counters say which tables were
    written at all (cheap); only those are hashed again, and a table counts as changed when its
    rows differ from before (a write rolled back, or undone, is no change).

        watcher.sync()        # before the request
        ...request...
        watcher.changed()     # tables whose data differ now
    """

    def __init__(self):
        self.hashes = db_fingerprint()
        self.counts = _write_counts()

    def _moved(self) -> tuple[dict[str, tuple], list[str]]:
        counts = _write_counts()
        moved = [table for table in self.hashes if counts.get(table) != self.counts.get(table)]
        return counts, moved

    def sync(self) -> None:
        self.counts, moved = self._moved()
        self.hashes.update(db_fingerprint(moved))

    def changed(self) -> list[str]:
        self.counts, moved = self._moved()
        now = db_fingerprint(moved)
        different = sorted(table for table in moved if now[table] != self.hashes[table])
        self.hashes.update(now)
        return different


# --- the world ------------------------------------------------------------------------------------------


class World:
    """Two parties (the client "employer" and the designer "freelancer"), a stranger, the
    recipient of a private listing, and two staff members (with and without the second
    factor in their session), and everything private between them."""

    def __init__(self):
        self._clients: dict[str, Client] = {}

    # people

    @cached_property
    def freelancer(self):
        return make_verified_seller()

    @cached_property
    def employer(self):
        return make_user()

    @cached_property
    def stranger(self):
        return make_user()

    @cached_property
    def recipient(self):
        return make_user()

    @cached_property
    def staff_plain(self):
        return make_user(is_staff=True)

    @cached_property
    def staff_mfa(self):
        user = make_user(is_staff=True)
        totp_authenticator(user)
        return user

    def user(self, role: str):
        return None if role == ANONYMOUS else getattr(self, role)

    def client(self, role: str, **kwargs) -> Client:
        """A client signed in as the role (staff_mfa: with the second factor in the session).
        Signing in changes the database (last_login): get the client before a fingerprint."""
        if kwargs:
            return self._new_client(role, **kwargs)
        if role not in self._clients:
            self._clients[role] = self._new_client(role)
        return self._clients[role]

    def _new_client(self, role: str, **kwargs) -> Client:
        client = Client(raise_request_exception=False, **kwargs)
        if role == STAFF_MFA:
            sign_in_with_mfa(client, self.staff_mfa)
        elif role != ANONYMOUS:
            client.force_login(self.user(role))
        return client

    # listings

    @cached_property
    def listing(self):
        return make_published(self.freelancer, options=[("Express 24 h", 1500)])

    @cached_property
    def private_listing(self):
        return make_published(self.freelancer, title="Private bridge design", is_private=True,
                              recipients=[self.recipient])

    @cached_property
    def draft_listing(self):
        return make_draft(self.freelancer, title="Unfinished implant bar design")

    # orders

    def _order_kwargs(self) -> dict:
        return {"listing": self.listing, "employer": self.employer}

    @cached_property
    def order_unpaid(self):
        """Sent, not paid yet (the pay pages), with a mesh and an exocad summary."""
        return order_create(listing=self.listing, employer=self.employer, files=case_files(),
                            instructions="Teeth 14-16, zirconia, A2")

    @cached_property
    def order_requested(self):
        return make_order(files=case_files(), **self._order_kwargs())

    @cached_property
    def order_accepted(self):
        return make_accepted(files=case_files(), **self._order_kwargs())

    @cached_property
    def order_delivered(self):
        return make_delivered(files=case_files(), **self._order_kwargs())

    @cached_property
    def order_completed(self):
        """Completed and paid (a receipt), not reviewed yet."""
        return completed_order(files=case_files(), **self._order_kwargs())

    @cached_property
    def order_reviewed(self):
        """Completed; both parties reviewed, so both reviews are visible (the reply form)."""
        order = completed_order(**self._order_kwargs())
        review_create(order=order, author=self.employer, rating=5, comment=GOOD)
        review_create(order=order, author=self.freelancer, rating=5, comment=GOOD)
        return order

    @cached_property
    def review_of_freelancer(self) -> Review:
        return Review.objects.get(order=self.order_reviewed, author=self.employer)

    @cached_property
    def other_order(self):
        """An order between two other people: its files must not open through our orders' ids."""
        return make_order(files=case_files())

    def order_file(self, order, extension: str) -> OrderFile:
        """A case file (sent with the order, not delivered) of this type."""
        return order.files.get(delivery__isnull=True, name__iendswith=f".{extension}")

    # conversations

    @cached_property
    def direct(self) -> Conversation:
        conversation, _, _ = make_direct(self.employer, self.freelancer, files=case_files())
        return conversation

    @cached_property
    def order_conversation(self) -> Conversation:
        conversation = conversation_for_order(order=self.order_requested)
        message_send(conversation=conversation, sender=self.employer, body="See the scan", files=case_files())
        return conversation

    @cached_property
    def disputed(self):
        """(order, dispute) with the dispute thread holding files."""
        return make_disputed(files=case_files(), **self._order_kwargs())

    @cached_property
    def dispute_thread(self) -> Conversation:
        _, dispute = self.disputed
        conversation = Conversation.objects.get(kind=Conversation.Kind.DISPUTE, key=f"dispute:{dispute.pk}")
        message_send(conversation=conversation, sender=self.employer, body=DESCRIPTION, files=case_files())
        return conversation

    @cached_property
    def support_request(self) -> Conversation:
        return support_request_open(user=self.employer, body="My payout is late", files=case_files()).conversation

    @cached_property
    def other_direct(self) -> Conversation:
        conversation, _, _ = make_direct(files=case_files())
        return conversation

    def attachment(self, conversation: Conversation, extension: str) -> Attachment:
        return Attachment.objects.get(message__conversation=conversation, name__iendswith=f".{extension}")

    # documents and money

    @cached_property
    def id_document(self) -> VerificationRequest:
        """The freelancer's ID document (kept for 30 days after the decision)."""
        request = VerificationRequest.objects.filter(user=self.freelancer).exclude(document="").get()
        return request

    @cached_property
    def payout_account(self):
        return connect_payouts(self.freelancer)

"""Which database a query reads from."""

from django.conf import settings

REPLICA = "replica"


def read_replica() -> str:
    """The alias for reads that may lag the primary by a moment (browse and search): the read
    replica when DATABASE_REPLICA_URL is set, else the primary. Nothing that a person just wrote
    and expects to see again is read through it."""
    return REPLICA if REPLICA in settings.DATABASES else "default"

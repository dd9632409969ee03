"""The sizes of the security suite (URLs classified, access-matrix cases, CSRF endpoints, XSS
fields, upload cases, production checks), printed at the end of a run by conftest.py."""

from collections import Counter

SIZES: Counter[str] = Counter()


def record(what: str, count: int) -> None:
    SIZES[what] += count

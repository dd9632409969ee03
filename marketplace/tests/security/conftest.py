import pytest

from marketplace.tests.security.report import SIZES
from marketplace.tests.security.world import World


@pytest.fixture
def world(db):
    return World()


@pytest.fixture
def staff_need_mfa(settings):
    """Production's rule: staff rights need the second factor in the session."""
    settings.ADMIN_REQUIRES_MFA = True
    return settings


def pytest_terminal_summary(terminalreporter):
    if SIZES:
        sizes = ", ".join(f"{what}: {count}" for what, count in sorted(SIZES.items()))
        terminalreporter.write_line(f"security suite sizes: {sizes}")

"""Demo accounts for `make run` (see cadcam/management/commands/seed_demo.py)."""

from allauth.account.models import EmailAddress
from django.db import transaction

from accounts.models import User

DEMO_PASSWORD = "cadcam-demo"

DEMO_USERS = [
    # email, username, first name, last name, is staff
    ("staff@cadcam.test", "staff", "Sam", "Staffer", True),
    ("freelancer@cadcam.test", "freelancer", "Elena", "Marsh", False),
    ("employer@cadcam.test", "employer", "Bright Smile", "Dental Lab", False),
]


@transaction.atomic
def seed_users() -> dict[str, User]:
    """Create or reset the demo accounts: verified e-mail, known password."""
    users = {}
    for email, username, first_name, last_name, is_staff in DEMO_USERS:
        user, _ = User.objects.update_or_create(
            email=email,
            defaults={
                "username": username,
                "first_name": first_name,
                "last_name": last_name,
                "is_staff": is_staff,
                "is_superuser": is_staff,
                "is_active": True,
            },
        )
        if not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        users[username] = user
    return users

"""Password rules beyond Django's own (settings.AUTH_PASSWORD_VALIDATORS)."""

from django.core.exceptions import ValidationError

SHORTEST_NAME_CHECKED = 4  # shorter names ("ab") occur in ordinary passwords by chance


class NotContainingAccountNameValidator:
    """The password may not contain the username or the part of the e-mail address before the
    @ (ignoring case): `enumtest9enumtest9` for the user `enumtest9` is guessed first by anyone
    who knows the name. Django's similarity check lets it through, as the repetition makes the
    password long enough to look different."""

    def validate(self, password: str, user=None) -> None:
        if user is None:
            return
        names = [getattr(user, "username", "") or "", (getattr(user, "email", "") or "").partition("@")[0]]
        lowered = password.casefold()
        for name in names:
            if len(name) >= SHORTEST_NAME_CHECKED and name.casefold() in lowered:
                raise ValidationError(
                    "The password cannot contain your username or the name in your e-mail address.",
                    code="password_contains_account_name",
                )

    def get_help_text(self) -> str:
        return "Your password cannot contain your username or the name in your e-mail address."

"""Communication languages a user can list: ISO 639 codes with their English names,
taken from Django's locale table (plus Chinese, which Django lists only by script)."""

from django.conf.locale import LANG_INFO

LANGUAGE_CHOICES: list[tuple[str, str]] = sorted(
    [(code, info["name"]) for code, info in LANG_INFO.items() if "-" not in code and "name" in info]
    + [("zh", "Chinese")],
    key=lambda choice: choice[1],
)
LANGUAGE_NAMES = dict(LANGUAGE_CHOICES)

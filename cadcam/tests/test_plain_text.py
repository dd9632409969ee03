"""Every form of the project refuses control characters in its text fields (cadcam/forms.py)."""

import importlib
import pkgutil

import pytest
from django import forms
from django.apps import apps
from django.conf import settings

from cadcam.forms import Form, PlainTextMixin


def project_forms() -> list[type]:
    """Every form class defined in the project's own modules, after importing them all."""
    own = [config for config in apps.get_app_configs()
           if config.path.startswith(str(settings.BASE_DIR)) and "site-packages" not in config.path]
    for config in own:
        for module in pkgutil.walk_packages([config.path], prefix=f"{config.name}."):
            if ".tests" in module.name or ".migrations" in module.name or ".management" in module.name:
                continue
            importlib.import_module(module.name)
    found, todo = [], [forms.BaseForm]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in {config.name for config in own} and ".tests" not in cls.__module__:
            found.append(cls)
    return found


def test_every_form_of_the_project_refuses_control_characters():
    found = project_forms()

    assert len(found) >= 20  # the forms of every app were found
    assert [cls.__qualname__ for cls in found if not issubclass(cls, PlainTextMixin)] == []


class Sample(Form):
    name = forms.CharField()
    email = forms.EmailField(required=False)
    note = forms.CharField(widget=forms.Textarea, required=False)
    password = forms.CharField(widget=forms.PasswordInput, required=False)


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\tb", "a\x00b", "a\x1bb", "a\x7fb", "a\u2028b", "a\x85b", "a\x9bb",
                                 "Sam\u202eretsffatS", "Sam\u2066Staffer"])
def test_a_single_line_field_refuses_every_control_character(bad):
    form = Sample(data={"name": bad})

    assert not form.is_valid()
    assert form.errors["name"]


def test_a_textarea_keeps_line_breaks_and_tabs_and_refuses_the_rest():
    assert Sample(data={"name": "Mara", "note": "Line one\r\n\tLine two"}).is_valid()
    assert "note" in Sample(data={"name": "Mara", "note": "bell \x07"}).errors
    assert "note" in Sample(data={"name": "Mara", "note": "reversed \u202etext"}).errors


def test_ordinary_text_passes_and_passwords_are_left_alone():
    form = Sample(data={"name": "Zahntechnik Müller, Büro 2 (Zürich) · 歯科 · مختبر\u200c", "email": "a@b.de",
                        "password": "pass\tword"})

    assert form.is_valid(), form.errors

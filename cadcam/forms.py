import re

from django import forms


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; `check(upload)` validates each one (raising ValidationError)."""

    def __init__(self, *args, check=None, accept: str = "", **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": accept} if accept else {}))
        super().__init__(*args, **kwargs)
        self.check = check

    def clean(self, data, initial=None):
        uploads = data if isinstance(data, list | tuple) else ([data] if data else [])
        if self.required and not uploads:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        cleaned = [super(MultipleFileField, self).clean(upload, initial) for upload in uploads]
        if self.check:
            for upload in cleaned:
                self.check(upload)
        return cleaned


# Control characters: C0, DEL and C1, the Unicode line and paragraph separators, and the
# bidirectional embedding, override and isolate controls (U+202A-202E, U+2066-2069), which
# make text show in another order than it is ("Sam\u202eretsffatS"). A single-line field
# refuses all of them: a display name with a line break would print as extra lines in the
# e-mails sent in the platform's voice. A multi-line field keeps tabs and line breaks.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
CONTROL_CHARACTERS_BUT_LINE_BREAKS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def no_control_characters(value: str) -> None:
    if CONTROL_CHARACTERS.search(value):
        raise forms.ValidationError(
            "Use one line of ordinary text here: line breaks, tabs and other control characters are not allowed.",
            code="control_characters",
        )


def no_control_characters_but_line_breaks(value: str) -> None:
    if CONTROL_CHARACTERS_BUT_LINE_BREAKS.search(value):
        raise forms.ValidationError("Remove the control characters from this text.", code="control_characters")


class PlainTextMixin:
    """Every text field of the form refuses control characters: single-line ones (any widget but
    a textarea) all of them, textareas all but tabs and line breaks; passwords are left alone.
    Every form of the project uses it, through `Form` and `ModelForm` below (the signup form
    directly); cadcam/tests/test_plain_text.py checks that none is missed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if not isinstance(field, forms.CharField) or isinstance(field.widget, forms.PasswordInput):
                continue
            multi_line = isinstance(field.widget, forms.Textarea)
            field.validators.append(no_control_characters_but_line_breaks if multi_line else no_control_characters)


class Form(PlainTextMixin, forms.Form):
    pass


class ModelForm(PlainTextMixin, forms.ModelForm):
    pass

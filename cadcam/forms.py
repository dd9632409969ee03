import re

from django import forms

from cadcam.direct_uploads import UploadedObject, direct_upload_refuse, uploaded_objects


class MultipleFileInput(forms.ClearableFileInput):
    """Several files in one input. With `direct`, the value also holds the tokens of files the
    browser already sent straight to the bucket (S3 mode): the upload script posts them as
    plain values under the field's own name."""

    allow_multiple_selected = True

    def __init__(self, attrs=None, *, direct: bool = False):
        super().__init__(attrs)
        self.direct = direct

    def value_from_datadict(self, data, files, name):
        posted = super().value_from_datadict(data, files, name) or []
        if not isinstance(posted, list):
            posted = [posted]
        if not self.direct:
            return posted
        return posted + [token for token in data.getlist(name) if isinstance(token, str) and token]

    def value_omitted_from_data(self, data, files, name):
        omitted = super().value_omitted_from_data(data, files, name)
        return omitted and not (self.direct and name in data)


class MultipleFileField(forms.FileField):
    """Several files in one input; `check(upload)` validates each one (raising ValidationError).

    With `direct=True` (case files, deliveries, attachments) direct uploads are named by token
    and resolved for the form's `uploader` (the signed-in user, given to the form) into
    `UploadedObject`s, checked like posted files. One that fails its check is deleted at once;
    the ones that pass are kept on `kept`, so a form shown again for another error sends them
    again without a second upload."""

    def __init__(self, *args, check=None, accept: str = "", direct: bool = False, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": accept} if accept else {}, direct=direct))
        super().__init__(*args, **kwargs)
        self.direct = direct
        self.check = check
        self.uploader = None
        self.kept: list[UploadedObject] = []

    def clean(self, data, initial=None):
        values = data if isinstance(data, list | tuple) else ([data] if data else [])
        tokens = [value for value in values if isinstance(value, str)]
        uploads = [value for value in values if not isinstance(value, str)]
        if tokens:
            uploads += uploaded_objects(self.uploader, tokens)
        if self.required and not uploads:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        cleaned = [super(MultipleFileField, self).clean(upload, initial) for upload in uploads]
        errors, refused = [], []
        for upload in cleaned if self.check else ():
            try:
                self.check(upload)
            except forms.ValidationError as error:
                errors.append(error)
                if isinstance(upload, UploadedObject):
                    direct_upload_refuse(upload)
                    refused.append(upload)
        self.kept = [upload for upload in cleaned if isinstance(upload, UploadedObject) and upload not in refused]
        if errors:
            raise forms.ValidationError(errors)
        return cleaned


class UploaderMixin:
    """`uploader=request.user` tells the form's direct-upload fields whose uploads they may use.
    A bound form with such a field needs it: without, every token would be refused."""

    def __init__(self, *args, uploader=None, **kwargs):
        super().__init__(*args, **kwargs)
        direct = [field for field in self.fields.values() if getattr(field, "direct", False)]
        if direct and self.is_bound and uploader is None:
            raise TypeError(f"{type(self).__name__} takes direct uploads: pass uploader=request.user.")
        for field in direct:
            field.uploader = uploader


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


class Form(UploaderMixin, PlainTextMixin, forms.Form):
    pass


class ModelForm(UploaderMixin, PlainTextMixin, forms.ModelForm):
    pass

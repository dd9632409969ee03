import re

from django import forms

from cadcam.direct_uploads import UploadedObject, uploaded_objects


class MultipleFileInput(forms.ClearableFileInput):
    """Several files in one input. Besides the files posted with the form, the value holds
    the tokens of files the browser already sent straight to the bucket (S3 mode): the upload
    script posts them as plain values under the field's own name."""

    allow_multiple_selected = True

    def value_from_datadict(self, data, files, name):
        posted = super().value_from_datadict(data, files, name) or []
        if not isinstance(posted, list):
            posted = [posted]
        return posted + [token for token in data.getlist(name) if isinstance(token, str) and token]

    def value_omitted_from_data(self, data, files, name):
        return super().value_omitted_from_data(data, files, name) and name not in data


class MultipleFileField(forms.FileField):
    """Several files in one input; `check(upload)` validates each one (raising ValidationError).

    Direct uploads are named by token and resolved for the form's `uploader` (the signed-in
    user, given to the form) into `UploadedObject`s, checked like posted files. One that fails
    its check is deleted at once; the ones that pass are kept on `kept`, so a form shown again
    for another error sends them again without a second upload."""

    def __init__(self, *args, check=None, accept: str = "", **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": accept} if accept else {}))
        super().__init__(*args, **kwargs)
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
                    upload.refuse()
                    refused.append(upload)
        self.kept = [upload for upload in cleaned if isinstance(upload, UploadedObject) and upload not in refused]
        if errors:
            raise forms.ValidationError(errors)
        return cleaned


class UploaderMixin:
    """`uploader=request.user` tells the form's file fields whose direct uploads they may use."""

    def __init__(self, *args, uploader=None, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, MultipleFileField):
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

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

from django import forms

from cadcam.files import CASE_FILE_ACCEPT, check_case_file
from cadcam.forms import Form, MultipleFileField
from cadcam.previews import PATIENT_DATA_HELP
from messaging.models import BODY_MAX_CHARS

FILE_HELP = (
    "STL, PLY, OBJ, DICOM, exocad and 3Shape files, ZIP, images, PDF or DOCX; up to 100 MB each, "
    "several at once."
)


class MessageForm(Form):
    body = forms.CharField(
        label="Message", required=False, max_length=BODY_MAX_CHARS, strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": BODY_MAX_CHARS}),
    )
    files = MultipleFileField(
        label="Attach files", required=False, check=check_case_file, accept=CASE_FILE_ACCEPT, help_text=FILE_HELP,
        direct=True,
    )
    hide_patient_data = forms.BooleanField(
        label="Hide patient data", required=False, initial=True,
        help_text=PATIENT_DATA_HELP,
    )

    def __init__(self, *args, **kwargs):
        # Its own ids: on the order page it sits next to the delivery form's "id_files".
        kwargs.setdefault("auto_id", "message_%s")
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("body") and not cleaned.get("files"):
            raise forms.ValidationError("Write a message or attach a file.")
        return cleaned


class PreferenceForm(Form):
    email_unread = forms.BooleanField(
        label="E-mail me about unread messages", required=False,
        help_text="At most one e-mail per conversation every 15 minutes, only for messages you have not read yet.",
    )

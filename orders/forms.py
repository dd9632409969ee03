from django import forms
from django.utils import timezone

from cadcam.files import CASE_FILE_ACCEPT, check_case_file
from cadcam.forms import Form, MultipleFileField
from cadcam.previews import PATIENT_DATA_HELP
from listings.models import Listing

FILE_HELP = (
    "STL, PLY, OBJ, DICOM, exocad and 3Shape project files, ZIP, images, PDF or DOCX; up to 100 MB each. "
    "Several files at once are fine."
)


def hide_patient_data_field() -> forms.BooleanField:
    return forms.BooleanField(
        required=False, initial=True, label="Hide patient data in exocad files",
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
        help_text=PATIENT_DATA_HELP,
    )


def case_files_field(*, required: bool, label: str) -> MultipleFileField:
    return MultipleFileField(
        required=required, label=label, check=check_case_file, accept=CASE_FILE_ACCEPT, help_text=FILE_HELP,
        direct=True,
    )


class SendCaseForm(Form):
    quantity = forms.IntegerField(min_value=1, max_value=100, initial=1)
    options = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, label="Add-ons"
    )
    due_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Needed by (optional)",
        help_text="The designer must accept before this date; otherwise nothing is charged.",
    )
    instructions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), max_length=5000, required=False, label="Case instructions",
        help_text="Teeth, material, shade, margins, anything the designer should know.",
    )
    files = case_files_field(required=True, label="Case files")
    hide_patient_data = hide_patient_data_field()

    def __init__(self, *args, listing: Listing, **kwargs):
        super().__init__(*args, **kwargs)
        self.listing = listing
        self.fields["options"].queryset = listing.options.all()
        if not listing.is_per_unit:
            self.fields["quantity"].widget = forms.HiddenInput()
        else:
            unit = listing.unit_name
            self.fields["quantity"].label = f"Quantity (priced per {unit})" if unit else "Quantity"

    def clean_due_date(self):
        due = self.cleaned_data.get("due_date")
        if due and due <= timezone.localdate():
            raise forms.ValidationError("The due date must be in the future.")
        return due


class DeliveryForm(Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, required=False)
    files = case_files_field(required=False, label="Design files")
    hide_patient_data = hide_patient_data_field()


class RevisionForm(Form):
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="What should change?"
    )


class DeclineForm(Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=1000, required=False, label="Reason (optional)"
    )

import json
import math

from django import forms
from django.utils import timezone

from cadcam.files import CASE_FILE_ACCEPT, check_case_file
from cadcam.forms import Form, MultipleFileField
from cadcam.previews import PATIENT_DATA_HELP
from listings.models import Listing
from orders.models import Pin
from orders.pin_selectors import pins_sendable_with_revision

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


class PinChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, pin) -> str:
        what = pin.text or pin.get_kind_display()
        if pin.length_mm is not None:
            what = f"{what} ({pin.length_mm:.2f} mm)"
        return f"{pin.number}. {what} — {pin.file.name}"


class RevisionForm(Form):
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="What should change?"
    )
    pins = PinChoices(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, label="Pins sent with the request",
        error_messages={"invalid_choice": "Pin %(value)s cannot go with this request: it was resolved, removed or "
                                          "already sent. Reload the page and choose again."},
    )

    takes_order = True  # orders.views.act passes order=...

    def __init__(self, *args, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pins"].queryset = pins_sendable_with_revision(order) if order else Pin.objects.none()
        self.fields["pins"].initial = [pin.pk for pin in self.fields["pins"].queryset]


class Vector(forms.Field):
    """Three numbers "x,y,z" (what the viewer writes into the pin form's hidden fields)."""

    widget = forms.HiddenInput
    default_error_messages = {"invalid": "The pin's position was not understood. Click the model again."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if len(str(value)) > 200:  # refused, not cut: what is left of it would be another value
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            numbers = [float(part) for part in str(value).split(",")]
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if len(numbers) != 3 or not all(math.isfinite(number) for number in numbers):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return numbers


class Camera(forms.Field):
    """The view when the pin was placed, as JSON: {"position", "target", "up"} (the service
    checks what is inside)."""

    widget = forms.HiddenInput
    default_error_messages = {"invalid": "The pin's view was not understood. Click the model again."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if len(value) > 1000:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: arrays or objects nested too deep
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class PinForm(Form):
    """A pin the viewer fills: the picked point, its normal and the camera come from the page's
    script as hidden fields; the person writes the text."""

    kind = forms.ChoiceField(choices=Pin.Kind.choices, initial=Pin.Kind.COMMENT, widget=forms.HiddenInput)
    point = Vector(error_messages={"required": "Click the model where the pin goes first."})
    normal = Vector(error_messages={"required": "Click the model where the pin goes first."})
    end = Vector(required=False)
    camera = Camera(error_messages={"required": "Click the model where the pin goes first."})
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False, label="Comment",
        help_text="What is wrong or to check here. Optional for a measurement.",
    )

    def clean(self):
        data = super().clean()
        if data.get("kind") == Pin.Kind.MEASUREMENT and not data.get("end"):
            raise forms.ValidationError("Pick the second point of the measurement.")
        if data.get("kind") == Pin.Kind.COMMENT:
            data["end"] = None
            if not self.errors and not (data.get("text") or "").strip():
                self.add_error("text", "Write what the pin is about.")
        return data


class PinResolveForm(Form):
    reply = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, label="Reply",
        error_messages={"required": "Write a reply saying what was done about it."},
    )


class DeclineForm(Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=1000, required=False, label="Reason (optional)"
    )

from django import forms

from cadcam.forms import Form
from cadcam.money import MoneyField
from disputes.models import Dispute
from disputes.services import DESCRIPTION_MAX_CHARS, DESCRIPTION_MIN_CHARS, Outcome
from messaging.services import MAX_FILES_PER_MESSAGE
from orders.forms import case_files_field, hide_patient_data_field


class DisputeForm(Form):
    reason = forms.ChoiceField(choices=Dispute.Reason.choices, widget=forms.RadioSelect, label="What is wrong?",
                               error_messages={"invalid_choice": "Choose what the dispute is about."})
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), min_length=DESCRIPTION_MIN_CHARS, max_length=DESCRIPTION_MAX_CHARS,
        label="Describe the problem",
        help_text="What was agreed, what you received, and what you expect now. The designer and our team read it.",
    )
    files = case_files_field(required=False, label="Files that show the problem (optional)")
    hide_patient_data = hide_patient_data_field()

    def clean_files(self):
        files = self.cleaned_data["files"]
        if len(files) > MAX_FILES_PER_MESSAGE:
            raise forms.ValidationError(f"Attach at most {MAX_FILES_PER_MESSAGE} files.")
        return files


class ResolutionForm(Form):
    """Staff's decision in admin; disputes.services.dispute_resolve checks it again."""

    outcome = forms.ChoiceField(choices=Outcome.choices, widget=forms.RadioSelect)
    refund = MoneyField(required=False, min_cents=1, label="Amount to refund (partial refund only)",
                        help_text="In dollars, e.g. 40.00. The designer receives the rest, less the fee on it.")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=5000, label="Resolution note",
                           help_text="Required. Both parties receive it by e-mail.")
    allow_another = forms.BooleanField(required=False, label="Allow the client to open a new dispute later "
                                                              "(dismissal only)")

    def clean(self):
        data = super().clean()
        if data.get("outcome") == Outcome.PARTIAL_REFUND and not data.get("refund"):
            self.add_error("refund", "Enter the amount to refund.")
        return data

from django import forms
from stdnum import iban as iban_numbers
from stdnum.exceptions import ValidationError as NumberError

from cadcam.forms import Form
from payouts.models import PayoutCountry


class PayoutCountryForm(Form):
    country = forms.ModelChoiceField(
        queryset=PayoutCountry.objects.filter(enabled=True), label="Your bank's country",
        empty_label="Choose a country", to_field_name="country", widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={"invalid_choice": "Payouts cannot be sent to banks in that country."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # By country name, as people look for it (the table is ordered by code).
        field = self.fields["country"]
        field.choices = [("", field.empty_label),
                         *sorted(((c.country.code, c.country.name) for c in field.queryset), key=lambda c: c[1])]


class SimulatedOnboardingForm(Form):
    """The test-mode stand-in for Stripe's hosted onboarding: the bank account only."""

    account_holder = forms.CharField(max_length=100, label="Account holder")
    iban = forms.CharField(max_length=42, label="IBAN", help_text="Any valid IBAN, e.g. DE89 3704 0044 0532 0130 00.")

    def clean_iban(self):
        try:
            return iban_numbers.validate(self.cleaned_data["iban"])
        except NumberError:
            raise forms.ValidationError("This is not a valid IBAN. Check it for typos.") from None

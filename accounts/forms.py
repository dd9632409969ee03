import re

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse
from django.utils.html import format_html
from django_countries import countries
from phonenumber_field.phonenumber import to_python as parse_phone
from PIL import Image
from stdnum import get_cc_module
from stdnum.exceptions import ValidationError as StdnumError

from accounts.languages import LANGUAGE_CHOICES
from accounts.models import Profile, VerificationRequest
from accounts.services import profile_record_terms
from cadcam.files import IMAGE_EXTENSIONS, check_upload
from cadcam.forms import Form, ModelForm, PlainTextMixin

MB = 1024 * 1024
PHOTO_MAX_BYTES = 10 * MB
DOCUMENT_MAX_BYTES = 10 * MB
PHOTO_MIN_SIDE = 200


class SignupForm(PlainTextMixin, AllauthSignupForm):
    accept_terms = forms.BooleanField(
        required=True,
        error_messages={"required": "You need to accept the Terms of Service to create an account."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.move_to_end("accept_terms")
        terms_url = reverse("pages:terms")
        self.fields["accept_terms"].label = format_html(
            'I accept the <a href="{}" target="_blank" rel="noopener">Terms of Service</a>', terms_url
        )

    def save(self, request):
        user = super().save(request)
        profile_record_terms(user=user)
        return user


class ProfileForm(ModelForm):
    languages = forms.MultipleChoiceField(
        choices=LANGUAGE_CHOICES,
        required=False,
        label="Communication languages",
        help_text="Tick every language you can work in; the ones you chose come first.",
        widget=forms.CheckboxSelectMultiple,
    )
    photo = forms.FileField(
        required=False,
        label="Profile photo",
        help_text=f"JPG, PNG or WebP, at least {PHOTO_MIN_SIDE}x{PHOTO_MIN_SIDE} pixels, at most 10 MB. "
        "We remove the photo's metadata (camera, location).",
        widget=forms.FileInput(attrs={"accept": ".jpg,.jpeg,.png,.webp"}),
    )
    phone = forms.CharField(
        required=False,
        max_length=32,
        help_text="With the country code, e.g. +44 20 7946 0958. Never shown to other users.",
    )

    class Meta:
        model = Profile
        fields = [
            "display_name",
            "about",
            "photo",
            "languages",
            "training",
            "country",
            "account_type",
            "company_name",
            "vat_number",
            "phone",
            "time_zone",
        ]
        widgets = {
            "about": forms.Textarea(attrs={"rows": 6}),
            "training": forms.Textarea(attrs={"rows": 3}),
            "account_type": forms.RadioSelect,
        }
        help_texts = {
            "about": "Plain text: your experience, specialities and how you work. Line breaks are kept.",
            "training": "e.g. Dental technician diploma, 2012; exocad certified trainer.",
            "vat_number": "EU numbers with or without their country prefix (DE136695976 or 136695976). Checked "
            "against your country's format where it has one. Never shown to other users.",
            "company_name": "Required when you sell as a company.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.phone:
            self.initial["phone"] = self.instance.phone.as_international
        if self.instance.vat_number:
            self.initial["vat_number"] = self.instance.vat_number_display
        # The chosen languages first, so that they show at the top of the list.
        chosen = set(self.instance.languages)
        self.fields["languages"].choices = sorted(LANGUAGE_CHOICES, key=lambda choice: choice[0] not in chosen)

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if not isinstance(photo, UploadedFile):  # nothing new: the stored photo stays as it is
            return None
        check_upload(photo, allowed=IMAGE_EXTENSIONS, max_bytes=PHOTO_MAX_BYTES)
        with Image.open(photo) as image:
            too_small = min(image.size) < PHOTO_MIN_SIDE
        photo.seek(0)
        if too_small:
            raise forms.ValidationError(
                f"The photo is too small: it must be at least {PHOTO_MIN_SIDE}x{PHOTO_MIN_SIDE} pixels."
            )
        return photo

    def clean(self):
        cleaned = super().clean()
        country = cleaned.get("country") or ""
        raw_phone = (cleaned.get("phone") or "").strip()
        if raw_phone:
            number = parse_phone(raw_phone, region=country or None)
            if number is None or not number.is_valid():
                self.add_error(
                    "phone", "Enter a valid phone number with its country code, e.g. +44 20 7946 0958."
                )
            else:
                cleaned["phone"] = number
        else:
            cleaned["phone"] = ""
        vat = (cleaned.get("vat_number") or "").strip()
        if vat:
            cleaned["vat_number"] = self._clean_vat(vat, country)
        if cleaned.get("account_type") == Profile.AccountType.COMPANY and not cleaned.get("company_name"):
            self.add_error("company_name", "Enter the company name, or choose Individual.")
        return cleaned

    def _clean_vat(self, vat: str, country: str) -> str:
        module = get_cc_module(country.lower(), "vat") if country else None
        if module is None:
            # No national scheme known: keep it as typed, compacted so duplicates compare equal.
            return re.sub(r"[^0-9A-Za-z]", "", vat).upper()
        try:
            return module.validate(vat)
        except StdnumError:
            self.add_error(
                "vat_number",
                f"This is not a valid VAT or tax number for {countries.name(country)}. "
                "Check the digits, or the country you chose.",
            )
            return vat

    def profile_fields(self) -> dict:
        """The profile fields to save, without the photo (the service processes that)."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name != "photo"}


class VerificationRequestForm(ModelForm):
    # Three real choices and none ticked: the person says which document they send.
    document_type = forms.ChoiceField(
        label="Type of document",
        choices=VerificationRequest.DocumentType.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose which kind of document you are sending.",
                        "invalid_choice": "Choose one of the kinds of document listed."},
    )
    document = forms.FileField(
        label="ID document",
        help_text="A photo or scan of your passport, driving licence or business ownership proof: "
        "JPG, PNG or PDF, at most 10 MB. Only our staff can see it; we delete it 30 days after our decision.",
        widget=forms.FileInput(attrs={"accept": ".jpg,.jpeg,.png,.pdf"}),
    )

    class Meta:
        model = VerificationRequest
        fields = ["document_type", "document"]

    def clean_document(self):
        document = self.cleaned_data["document"]
        check_upload(document, allowed={"jpg", "jpeg", "png", "pdf"}, max_bytes=DOCUMENT_MAX_BYTES)
        return document


class AccountDeleteForm(Form):
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Enter your password to confirm.",
    )

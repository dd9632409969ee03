from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.functional import cached_property
from PIL import Image

from accounts.models import User
from cadcam.files import IMAGE_EXTENSIONS, check_upload
from cadcam.forms import Form, ModelForm, MultipleFileField
from cadcam.money import MoneyField
from listings.contacts import (
    RecipientChoices,
    contact_example,
    is_row_id,
    recipient_choices,
    recipients_choosable,
    sent_ids,
)
from listings.models import MAX_IMAGES, MAX_OPTIONS, MAX_PRICE_CENTS, MIN_PRICE_CENTS, CadSoftware, Category, Listing
from listings.prechecks import MIN_IMAGE_SIZE
from listings.selectors import SORTS, BrowseFilters, BrowseReference, browse_reference

MB = 1024 * 1024
IMAGE_MAX_BYTES = 10 * MB


def _check_listing_image(upload) -> None:
    check_upload(upload, allowed=IMAGE_EXTENSIONS, max_bytes=IMAGE_MAX_BYTES)
    with Image.open(upload) as image:
        width, height = image.size
    upload.seek(0)
    if width < MIN_IMAGE_SIZE[0] or height < MIN_IMAGE_SIZE[1]:
        raise forms.ValidationError(
            f"{upload.name} is {width}x{height} pixels; images must be at least "
            f"{MIN_IMAGE_SIZE[0]}x{MIN_IMAGE_SIZE[1]}."
        )


class RecipientsField(forms.ModelMultipleChoiceField):
    """A private listing's clients: ids of people the seller may choose
    (listings.contacts.recipients_choosable; the form sets `queryset` and `owner`)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {
            "invalid_choice": "You can choose only people you have talked to or worked with. To offer this "
                              "listing to someone new, send them a message first.",
            "invalid_pk_value": "“%(pk)s” is not a client you can choose: pick your clients from the list.",
            "invalid_list": "Pick your clients from the list.",
        })
        super().__init__(queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple, **kwargs)
        self.owner = None

    def clean(self, value):
        sent = [str(item) for item in value or ()] if isinstance(value, list | tuple) else value
        for item in sent if isinstance(sent, list) else ():
            if not is_row_id(item):
                raise forms.ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value",
                                            params={"pk": item})
            if self.owner is not None and int(item) == self.owner.pk:
                raise forms.ValidationError("You cannot offer a private listing to yourself.", code="self")
        return super().clean(sent)


class ListingForm(ModelForm):
    price_cents = MoneyField(
        label="Unit price (USD)", min_cents=MIN_PRICE_CENTS, max_cents=MAX_PRICE_CENTS,
        help_text="At least $7.00, at most $10,000.00. You receive it minus the 9% platform fee (at least $3.49).",
        error_messages={"min_value": "The price must be at least $7.00.",
                        "max_value": "The price can be at most $10,000.00."},
    )
    software = forms.ModelMultipleChoiceField(
        queryset=CadSoftware.objects.filter(is_active=True), widget=forms.CheckboxSelectMultiple,
        label="CAD software you design with",
        error_messages={"required": "Choose at least one CAD software you design with."},
    )
    recipients = RecipientsField(label="Clients for a private listing")
    new_images = MultipleFileField(
        required=False, label="Add images", check=_check_listing_image, accept=".jpg,.jpeg,.png,.webp",
        help_text=f"JPG, PNG or WebP, at least {MIN_IMAGE_SIZE[0]}x{MIN_IMAGE_SIZE[1]} pixels, at most 10 MB each, "
        f"up to {MAX_IMAGES} in all. The first image is the cover.",
    )

    class Meta:
        model = Listing
        fields = [
            "title", "category", "description", "software", "revisions_included", "price_cents", "is_per_unit",
            "unit_name", "turnaround_days", "expires_on", "is_private",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 8}),
            "expires_on": forms.DateInput(attrs={"type": "date"}),
            "turnaround_days": forms.NumberInput(attrs={"min": 1, "max": 60}),
            "revisions_included": forms.NumberInput(attrs={"min": 0, "max": 10}),
        }
        labels = {"turnaround_days": "Turnaround (days)", "expires_on": "Expires on (optional)",
                  "is_private": "Private listing: only for the clients chosen below"}
        help_texts = {
            "description": "Plain text, at least 150 characters: what you design, what you need from the client, "
            "what they receive. No links, e-mail addresses, phone numbers or social handles.",
            "revisions_included": "How many rounds of changes the price includes (0 to 10).",
        }

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.fields["category"].queryset = Category.objects.filter(is_active=True)
        self.fields["recipients"].owner = owner
        self.fields["recipients"].queryset = recipients_choosable(owner, current=self._current_recipients())

    def _current_recipients(self):
        return self.instance.recipients.values("pk") if self.instance.pk else None

    @cached_property
    def recipient_picker(self) -> RecipientChoices:
        """What the client picker lists: the listing's current clients and those sent, checked as
        sent once the form was posted (else the current ones are checked). Sent ids the owner may
        not choose are left out (the field's error says why)."""
        checked = None
        if self.is_bound:
            field = self.fields["recipients"]
            sent = field.widget.value_from_datadict(self.data, self.files, self.add_prefix("recipients"))
            checked = sent_ids(sent or ())
        return recipient_choices(self.owner, current=self._current_recipients(), checked=checked)

    @cached_property
    def recipient_example(self) -> str:
        return contact_example(self.owner)

    def clean_expires_on(self):
        expires_on = self.cleaned_data.get("expires_on")
        if expires_on and expires_on <= timezone.localdate():
            raise forms.ValidationError("The expiry date must be in the future.")
        return expires_on

    def clean(self):
        cleaned = super().clean()
        if "recipients" in cleaned:
            cleaned["recipients"] = list(cleaned["recipients"])
            if cleaned.get("is_private") and not cleaned["recipients"]:
                self.add_error("recipients", "Choose at least one client for a private listing.")
        if cleaned.get("is_per_unit") and not (cleaned.get("unit_name") or "").strip():
            self.add_error("unit_name", 'Name the unit you price per (e.g. "tooth").')
        return cleaned

    def content(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name != "software"}


class OptionForm(Form):
    name = forms.CharField(max_length=80, required=False, label="Add-on")
    price_cents = MoneyField(label="Price (USD)", min_cents=0, max_cents=MAX_PRICE_CENTS, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        number = int(self.prefix.rsplit("-", 1)[-1]) + 1 if self.prefix else 1
        self.fields["name"].label = f"Add-on {number}"
        self.fields["price_cents"].label = f"Add-on {number} price (USD)"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("name") and cleaned.get("price_cents") is None:
            self.add_error("price_cents", "Give the add-on's price.")
        if cleaned.get("price_cents") is not None and not cleaned.get("name"):
            self.add_error("name", "Name the add-on.")
        return cleaned


OptionFormSet = forms.formset_factory(
    OptionForm, extra=3, max_num=MAX_OPTIONS, validate_max=True, absolute_max=MAX_OPTIONS
)


class BrowseForm(Form):
    """The browse and search filters, as they appear in the URL.

    Categories and CAD programs come from `reference` (selectors.browse_reference: loaded once
    per process and version), not from a query per request."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    category = forms.ChoiceField(required=False)
    software = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    price_min = MoneyField(required=False, min_cents=0, label="Min price ($)")
    price_max = MoneyField(required=False, min_cents=0, label="Max price ($)")
    turnaround = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label="Delivered within",
        choices=[("", "Any time"), (1, "1 day"), (2, "2 days"), (3, "3 days"), (5, "5 days"), (7, "1 week")],
    )
    verified = forms.BooleanField(
        required=False, label="Verified sellers only", widget=forms.CheckboxInput(attrs={"class": "form-check-input"})
    )
    private = forms.BooleanField(
        required=False, label="Offered privately to me", widget=forms.CheckboxInput(attrs={"class": "form-check-input"})
    )
    min_rating = forms.TypedChoiceField(
        required=False, coerce=Decimal, empty_value=None, label="Rating",
        choices=[("", "Any rating"), ("4.5", "4.5 stars and up"), ("4", "4 stars and up"), ("3", "3 stars and up")],
    )
    sort = forms.ChoiceField(choices=list(SORTS.items()), required=False, label="Sort by")

    def __init__(self, *args, reference: BrowseReference | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.reference = reference or browse_reference()
        self.fields["category"].choices = [("", "All"), *((c.slug, c.name) for c in self.reference.categories)]
        self.fields["software"].choices = [(item.slug, item.name) for item in self.reference.software]

    def filters(self) -> BrowseFilters:
        # A mistyped parameter (price_min=abc) drops only itself; the valid filters still apply.
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        chosen = set(data.get("software") or ())
        return BrowseFilters(
            q=data.get("q") or "",
            category=next((c for c in self.reference.categories if c.slug == data.get("category")), None),
            software=tuple(item for item in self.reference.software if item.slug in chosen),
            price_min_cents=data.get("price_min"),
            price_max_cents=data.get("price_max"),
            max_turnaround=data.get("turnaround"),
            verified_only=bool(data.get("verified")),
            private_only=bool(data.get("private")),
            min_rating=data.get("min_rating"),
            sort=data.get("sort") or "relevance",
        )

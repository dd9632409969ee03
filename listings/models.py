from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from cadcam.money import format_cents

MIN_PRICE_CENTS = 700
MAX_PRICE_CENTS = 1_000_000
MAX_IMAGES = 10
MAX_OPTIONS = 10


class ReferenceData(models.Model):
    """A named, ordered entry of a list staff curate in admin."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower comes first.")
    is_active = models.BooleanField(default=True, help_text="Inactive entries are not offered for new listings.")

    class Meta:
        abstract = True
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Category(ReferenceData):
    """A kind of dental CAD design service (Crowns & Bridges, Surgical Guides, ...)."""

    description = models.CharField(max_length=240, blank=True)

    class Meta(ReferenceData.Meta):
        verbose_name_plural = "categories"


class CadSoftware(ReferenceData):
    """A CAD program a designer works in (exocad DentalCAD, 3Shape Dental System, ...)."""

    class Meta(ReferenceData.Meta):
        verbose_name = "CAD software"
        verbose_name_plural = "CAD software"


class Listing(models.Model):
    """A design service a freelancer offers.

    The row holds the version people see. Editing a published listing does not touch it:
    the edit is a second row with `edit_of` pointing here, reviewed like a new listing,
    and copied over this one when staff approve it (see listings/services.py)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"  # the owner is still writing it
        PENDING_REVIEW = "pending_review", "In review"  # submitted, waiting for staff
        APPROVED = "approved", "Approved, waiting for verification"  # goes live when the owner is verified
        PUBLISHED = "published", "Published"  # live in browse and search
        REJECTED = "rejected", "Rejected"  # staff gave a reason; the owner can edit and resubmit
        EXPIRED = "expired", "Expired"  # its expiry date passed
        ARCHIVED = "archived", "Archived"  # the owner took it down

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="listings")
    edit_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="pending_edit", editable=False
    )
    status = models.CharField(max_length=20, choices=Status, default=Status.DRAFT, editable=False)
    title = models.CharField(max_length=100)
    slug = models.SlugField(max_length=110, editable=False)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="listings")
    description = models.TextField(max_length=5000)
    software = models.ManyToManyField(CadSoftware, related_name="listings", verbose_name="CAD software")
    revisions_included = models.PositiveSmallIntegerField(default=1, validators=[MaxValueValidator(10)])
    price_cents = models.PositiveIntegerField(
        "unit price (cents)", validators=[MinValueValidator(MIN_PRICE_CENTS), MaxValueValidator(MAX_PRICE_CENTS)]
    )
    currency = models.CharField(max_length=3, default="USD", editable=False)
    is_per_unit = models.BooleanField("priced per unit", default=False)
    unit_name = models.CharField(max_length=30, blank=True, help_text='e.g. "tooth", "arch", "unit"')
    turnaround_days = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(60)])
    expires_on = models.DateField(null=True, blank=True)
    is_private = models.BooleanField(default=False)
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="private_listings")
    rejection_reason = models.TextField(blank=True, editable=False)
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    reviewed_at = models.DateTimeField(null=True, blank=True, editable=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    search_vector = SearchVectorField(null=True, editable=False)
    # Reviews of this listing's orders by clients (visible, not hidden); kept by reviews/services.py.
    rating_count = models.PositiveIntegerField(default=0, editable=False)
    rating_avg = models.DecimalField(max_digits=3, decimal_places=2, default=0, editable=False)

    class Meta:
        ordering = ["-published_at", "-pk"]
        indexes = [
            GinIndex(fields=["search_vector"], name="listings_search_gin"),
            models.Index(
                fields=["category", "price_cents"],
                name="listings_browse_idx",
                condition=models.Q(status="published", edit_of__isnull=True),
            ),
            models.Index(
                fields=["price_cents"],
                name="listings_price_idx",
                condition=models.Q(status="published", edit_of__isnull=True),
            ),
            models.Index(
                fields=["-published_at"],
                name="listings_newest_idx",
                condition=models.Q(status="published", edit_of__isnull=True),
            ),
            models.Index(fields=["status", "submitted_at"], name="listings_review_queue_idx"),
            models.Index(
                fields=["-rating_avg", "-rating_count", "-id"],
                name="listings_rating_idx",
                condition=models.Q(status="published", edit_of__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price_cents__gte=MIN_PRICE_CENTS, price_cents__lte=MAX_PRICE_CENTS),
                name="listings_price_range",
            ),
            models.CheckConstraint(condition=models.Q(revisions_included__lte=10), name="listings_revisions_max"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("listings:detail", args=[self.pk, self.slug or slugify(self.title)[:100] or "listing"])

    @property
    def is_live(self) -> bool:
        """Findable and orderable now: the same rule as listings.selectors.listings_live_for."""
        return (
            self.status == self.Status.PUBLISHED
            and self.edit_of_id is None
            and self.owner.is_active
            and (self.expires_on is None or self.expires_on >= timezone.localdate())
        )

    @property
    def price_display(self) -> str:
        price = format_cents(self.price_cents)
        if self.is_per_unit and self.unit_name:
            return f"from {price} per {self.unit_name}"
        return f"from {price}"

    @property
    def is_rated(self) -> bool:
        return self.rating_count > 0

    @property
    def cover(self):
        images = list(self.images.all())
        return images[0] if images else None


def listing_image_path(image: "ListingImage", filename: str) -> str:
    return f"listings/{image.listing_id}/{filename}"


class ListingImage(models.Model):
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to=listing_image_path)
    thumbnail = models.ImageField(upload_to=listing_image_path)
    width = models.PositiveIntegerField(editable=False, default=0)
    height = models.PositiveIntegerField(editable=False, default=0)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"Image {self.position + 1} of {self.listing}"


class ListingOption(models.Model):
    """An add-on the employer can pick when sending a case (e.g. "Express 24 h", +$15)."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="options")
    name = models.CharField(max_length=80)
    price_cents = models.PositiveIntegerField(validators=[MaxValueValidator(MAX_PRICE_CENTS)])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.name} (+{format_cents(self.price_cents)})"


class Favorite(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favorites")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="favorited_by")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user", "listing"], name="listings_favorite_once")]

    def __str__(self) -> str:
        return f"{self.user} saved {self.listing}"

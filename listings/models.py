from django.db import models


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

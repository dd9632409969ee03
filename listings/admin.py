from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from cadcam.admin_helpers import ReviewQueueMixin
from cadcam.money import format_cents
from listings.models import CadSoftware, Category, Listing
from listings.prechecks import listing_problems
from listings.services import listing_approve, listing_reject


class ReferenceDataAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "is_active"]
    list_editable = ["position", "is_active"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


admin.site.register(Category, ReferenceDataAdmin)
admin.site.register(CadSoftware, ReferenceDataAdmin)


@admin.register(Listing)
class ListingAdmin(ReviewQueueMixin, admin.ModelAdmin):
    """The moderation queue: listings and edits waiting for review first, oldest first."""

    pending_status = Listing.Status.PENDING_REVIEW
    approved_message = "Approved: “{obj.title}”. The owner was e-mailed."
    rejected_message = "Rejected: “{obj.title}”. The owner was e-mailed the reason."
    change_form_template = "admin/listings/listing/change_form.html"
    list_display = ["id", "cover", "title", "owner", "category", "price", "status", "kind", "submitted_at", "checks"]
    list_display_links = ["id", "title"]
    list_filter = ["status", "category", "is_private", ("edit_of", admin.EmptyFieldListFilter)]
    search_fields = ["title", "owner__email", "owner__username"]
    list_select_related = ["owner", "category", "edit_of"]
    readonly_fields = [
        "title", "owner", "edit_of", "status", "category", "description", "software_names", "price",
        "is_per_unit", "unit_name", "options_list", "revisions_included", "turnaround_days", "expires_on",
        "is_private", "recipient_names", "images_preview", "precheck_results", "rejection_reason", "submitted_at",
        "reviewed_at", "reviewed_by", "published_at",
    ]
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("images")

    def get_ordering(self, request):
        waiting_first = Case(
            When(status=Listing.Status.PENDING_REVIEW, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
        return [waiting_first.asc(), "submitted_at", "-pk"]

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        preview = path("<int:pk>/preview/", self.admin_site.admin_view(self.preview_view),
                       name="listings_listing_preview")
        return [preview, *super().get_urls()]

    def preview_view(self, request, pk: int):
        """The listing, or an edit waiting for review, as its public page would show it: staff
        judge the edit where buyers will read it. The live version's reviews and rating stay
        with it; nothing on the page can be ordered."""
        listing = (Listing.objects.select_related("owner__profile", "category", "edit_of")
                   .prefetch_related("images", "options", "software").filter(pk=pk).first())
        if listing is None:
            raise Http404
        if not self.has_view_permission(request, listing):
            raise PermissionDenied
        context = {
            "listing": listing,
            "seller": listing.owner,
            "preview_of": listing.edit_of,
            "preview_admin_url": reverse("admin:listings_listing_change", args=[listing.pk]),
        }
        return render(request, "listings/detail.html", context)

    def approve(self, obj, by):
        listing_approve(listing=obj, by=by)

    def reject(self, obj, by, reason):
        listing_reject(listing=obj, by=by, reason=reason)

    @admin.display(description="")
    def cover(self, obj):
        cover = obj.cover
        return format_html('<img src="{}" alt="" width="80" height="60">', cover.thumbnail.url) if cover else "—"

    @admin.display(description="price", ordering="price_cents")
    def price(self, obj):
        return obj.price_display

    @admin.display(description="kind")
    def kind(self, obj):
        return f"edit of #{obj.edit_of_id}" if obj.edit_of_id else "new"

    @admin.display(description="pre-checks")
    def checks(self, obj):
        problems = listing_problems(obj)
        return format_html('<span class="errornote">{} problem(s)</span>', len(problems)) if problems else "OK"

    @admin.display(description="CAD software")
    def software_names(self, obj):
        return ", ".join(obj.software.values_list("name", flat=True))

    @admin.display(description="add-on options")
    def options_list(self, obj):
        return ", ".join(f"{option.name} +{format_cents(option.price_cents)}" for option in obj.options.all()) or "—"

    @admin.display(description="offered privately to")
    def recipient_names(self, obj):
        return ", ".join(obj.recipients.values_list("username", flat=True)) or "—"

    @admin.display(description="images")
    def images_preview(self, obj):
        return format_html_join(
            " ", '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="" width="200" height="150"></a>',
            ((image.image.url, image.thumbnail.url) for image in obj.images.all()),
        ) or "—"

    @admin.display(description="pre-check results")
    def precheck_results(self, obj):
        problems = listing_problems(obj)
        if not problems:
            return "All automatic checks pass."
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((p.message,) for p in problems)))

from django.contrib import admin

from cadcam.admin_helpers import run_each, run_each_with_reason
from reviews.models import Review, ReviewModeration, UserRating
from reviews.services import review_hide, review_unhide


class VisibilityFilter(admin.SimpleListFilter):
    title = "visibility"
    parameter_name = "visibility"

    def lookups(self, request, model_admin):
        return [("public", "Public"), ("blind", "Blind (not revealed yet)"), ("hidden", "Hidden by staff")]

    def queryset(self, request, queryset):
        if self.value() == "public":
            return queryset.filter(visible_at__isnull=False, hidden_at__isnull=True)
        if self.value() == "blind":
            return queryset.filter(visible_at__isnull=True)
        if self.value() == "hidden":
            return queryset.filter(hidden_at__isnull=False)
        return queryset


class ModerationInline(admin.TabularInline):
    model = ReviewModeration
    extra = 0
    can_delete = False
    fields = ["created_at", "action", "reason", "by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """Reviews are written by the parties; staff only hide (with a reason) or show them again."""

    list_display = ["id", "order", "author", "subject", "subject_role", "rating", "short_comment", "state",
                    "created_at"]
    list_filter = [VisibilityFilter, "rating", "subject_role"]
    search_fields = ["comment", "author__email", "author__username", "subject__email", "subject__username"]
    list_select_related = ["order", "author", "subject"]
    readonly_fields = ["order", "author", "subject", "subject_role", "rating", "comment", "created_at", "visible_at",
                       "reply", "replied_at", "hidden_at", "hidden_by", "hidden_reason"]
    fields = readonly_fields
    inlines = [ModerationInline]
    actions = ["hide_selected", "unhide_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="comment")
    def short_comment(self, obj):
        return obj.comment if len(obj.comment) <= 80 else obj.comment[:79] + "…"

    @admin.display(description="state")
    def state(self, obj):
        if obj.hidden_at:
            return "hidden"
        return "public" if obj.visible_at else "blind"

    @admin.action(permissions=["change"], description="Hide selected reviews (with a reason)")
    def hide_selected(self, request, queryset):
        return run_each_with_reason(
            self, request, queryset, title="Hide reviews that break the terms", action_name="hide_selected",
            action=lambda review, reason: review_hide(review=review, by=request.user, reason=reason),
            success="Hidden {count}. The authors were e-mailed the reason.",
        )

    @admin.action(permissions=["change"], description="Show selected hidden reviews again")
    def unhide_selected(self, request, queryset):
        run_each(request, queryset, lambda review: review_unhide(review=review, by=request.user),
                 "Shown again: {count}.")


@admin.register(UserRating)
class UserRatingAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "average", "count"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__username"]
    readonly_fields = ["user", "role", "count", "total", "average"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

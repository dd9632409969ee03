from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Value, When
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.models import DocumentAccess, Profile, User, VerificationRequest
from accounts.selectors import verification_possible_duplicates
from accounts.services import (
    document_access_record,
    user_reinstate,
    user_suspend,
    verification_approve,
    verification_reject,
)
from accounts.views import id_document_response
from cadcam.admin_helpers import ReviewQueueMixin, run_each, run_each_with_reason


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ["display_name", "account_type", "company_name", "country", "phone", "vat_number", "verified_at",
              "terms_version", "terms_accepted_at"]
    readonly_fields = ["verified_at", "terms_version", "terms_accepted_at"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["email", "username", "public_name", "verified", "is_staff", "state", "date_joined"]
    list_filter = ["is_staff", "is_active", ("suspended_at", admin.EmptyFieldListFilter), "profile__verified_at"]
    search_fields = ["email", "username", "first_name", "last_name", "profile__display_name", "profile__company_name"]
    list_select_related = ["profile"]
    ordering = ["-date_joined"]
    inlines = [ProfileInline]
    actions = ["suspend_users", "reinstate_users"]
    readonly_fields = ["suspended_at", "suspension_reason", "deleted_at", "last_login", "date_joined"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Suspension and deletion", {"fields": ("suspended_at", "suspension_reason", "deleted_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "username", "password1", "password2")}),)

    @admin.display(description="name")
    def public_name(self, user):
        return user.display_name

    @admin.display(description="verified", boolean=True)
    def verified(self, user):
        profile = getattr(user, "profile", None)
        return bool(profile and profile.is_verified)

    @admin.display(description="state")
    def state(self, user):
        if user.deleted_at:
            return "deleted"
        if user.suspended_at:
            return "suspended"
        return "active" if user.is_active else "inactive"

    @admin.action(
        permissions=["change"],
        description="Suspend selected users (they cannot sign in; their listings leave browse)",
    )
    def suspend_users(self, request, queryset):
        return run_each_with_reason(
            self, request, queryset, title="Suspend users", action_name="suspend_users",
            action=lambda user, reason: user_suspend(user=user, by=request.user, reason=reason),
            success="Suspended {count} user(s).",
        )

    @admin.action(permissions=["change"], description="Reinstate selected suspended users")
    def reinstate_users(self, request, queryset):
        run_each(
            request, queryset, lambda user: user_reinstate(user=user, by=request.user), "Reinstated {count} user(s)."
        )


class DocumentAccessInline(admin.TabularInline):
    """Who opened the ID document, and when."""

    model = DocumentAccess
    fields = readonly_fields = ["viewed_by", "viewed_at"]
    extra = 0
    can_delete = False
    verbose_name_plural = "ID document opened by"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(VerificationRequest)
class VerificationRequestAdmin(ReviewQueueMixin, admin.ModelAdmin):
    """The verification queue: pending requests first, oldest first."""

    inlines = [DocumentAccessInline]

    pending_status = VerificationRequest.Status.PENDING
    approved_message = "Approved: {obj.user.email} is verified and was e-mailed."
    rejected_message = "Rejected: {obj.user.email} was e-mailed the reason."
    list_display = ["id", "user_email", "public_name", "completeness", "status", "created_at", "duplicates"]
    list_display_links = ["id", "user_email"]
    list_filter = ["status", "document_type"]
    search_fields = ["user__email", "user__username", "user__profile__display_name", "user__profile__company_name"]
    list_select_related = ["user__profile"]
    change_form_template = "admin/accounts/verificationrequest/change_form.html"
    readonly_fields = ["user", "status", "document_type", "document_link", "document_sha256", "created_at",
                       "decided_at", "decided_by", "rejection_reason", "document_deleted_at"]
    fields = readonly_fields

    def get_ordering(self, request):
        pending_first = Case(
            When(status=VerificationRequest.Status.PENDING, then=Value(0)), default=Value(1),
            output_field=IntegerField(),
        )
        return [pending_first.asc(), "created_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="user", ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    @admin.display(description="name")
    def public_name(self, obj):
        return obj.user.profile.public_name

    @admin.display(description="profile complete")
    def completeness(self, obj):
        return f"{obj.user.profile.completeness_percent}%"

    @admin.display(description="possible duplicates")
    def duplicates(self, obj):
        count = verification_possible_duplicates(obj.user.profile).count()
        return format_html('<strong class="errornote">{}</strong>', count) if count else "0"

    @admin.display(description="ID document")
    def document_link(self, obj):
        if not obj.document:
            return f"{obj.document_name} (deleted {obj.document_deleted_at:%Y-%m-%d})"
        url = reverse("admin:accounts_verificationrequest_document", args=[obj.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, obj.document_name)

    def get_urls(self):
        document = path(
            "<int:pk>/document/",
            self.admin_site.admin_view(self.document_view),
            name="accounts_verificationrequest_document",
        )
        return [document, *super().get_urls()]

    def document_view(self, request, pk):
        """The ID document, for staff who may view verification requests; each opening is
        recorded and listed on the request's page."""
        obj = get_object_or_404(VerificationRequest.objects.exclude(document=""), pk=pk)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        document_access_record(request=obj, by=request.user)
        return id_document_response(obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra = {}
        if obj is not None:
            extra = {
                "profile": obj.user.profile,
                "possible_duplicates": verification_possible_duplicates(obj.user.profile),
                "other_requests": obj.user.verification_requests.exclude(pk=obj.pk),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def approve(self, obj, by):
        verification_approve(request=obj, by=by)

    def reject(self, obj, by, reason):
        verification_reject(request=obj, by=by, reason=reason)

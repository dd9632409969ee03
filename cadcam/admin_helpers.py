"""Pieces the staff admin pages share: read-only admins for records only services write,
actions that call a service for each selected object, and the intermediate page of actions
that need a reason."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from cadcam.errors import ApplicationError
from cadcam.forms import Form


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that change only through their services (money, disputes): staff look, and act
    through actions that call those services. `extra_readonly` adds computed fields."""

    extra_readonly: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields] + list(self.extra_readonly)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReasonForm(Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        help_text="The person concerned reads this in the e-mail and on the site.",
    )


def run_each(request, objects, action, success: str) -> None:
    """Call a service for each object; report refusals one by one, successes in one line."""
    done = 0
    for obj in objects:
        try:
            action(obj)
        except ApplicationError as error:
            messages.error(request, f"{obj}: {error.message}")
        else:
            done += 1
    if done:
        messages.success(request, success.format(count=done))


def run_each_with_reason(modeladmin, request, queryset, *, title: str, action_name: str, action, success: str):
    """A bulk action that needs a reason: the first call shows a page asking for it; once
    given, `action(obj, reason)` runs for each selected object."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        reason = form.cleaned_data["reason"]
        run_each(request, queryset, lambda obj: action(obj, reason), success)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "objects": queryset,
        "form": form,
        "action_name": action_name,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/reason_action.html", context)


class ReviewQueueMixin:
    """For ModelAdmins of things staff review one by one (verification requests, listings):
    "Approve" and "Reject with this reason" buttons on the change page, which call the
    model's services and then open the next item waiting in the queue.

    Subclasses set `pending_status` and implement `approve(obj, by)` and
    `reject(obj, by, reason)`; their change form template extends
    admin/review_change_form.html."""

    pending_status: str
    approved_message = "Approved: {obj}."
    rejected_message = "Rejected: {obj}."
    actions = ["approve_selected", "reject_selected"]

    def approve(self, obj, by):
        raise NotImplementedError

    def reject(self, obj, by, reason: str):
        raise NotImplementedError

    def _url_name(self, verb: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{verb}"

    def get_urls(self):
        own = [
            path("<int:pk>/approve/", self.admin_site.admin_view(self.approve_view), name=self._url_name("approve")),
            path("<int:pk>/reject/", self.admin_site.admin_view(self.reject_view), name=self._url_name("reject")),
        ]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {
            "approve_url": reverse(f"admin:{self._url_name('approve')}", args=[object_id]),
            "reject_url": reverse(f"admin:{self._url_name('reject')}", args=[object_id]),
            "rejection_form": ReasonForm(),
            "pending_status": self.pending_status,
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _redirect_to(self, pk=None):
        if pk is None:
            return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", pk)

    def _next_in_queue(self, request):
        waiting = self.get_queryset(request).filter(status=self.pending_status).order_by("pk").first()
        return self._redirect_to(waiting.pk if waiting else None)

    def _decide(self, request, pk, decision, success: str):
        obj = get_object_or_404(self.model, pk=pk)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        if request.method != "POST":
            return self._redirect_to(pk)
        try:
            decision(obj)
        except ApplicationError as error:
            messages.error(request, error.message)
            return self._redirect_to(pk)
        messages.success(request, success.format(obj=obj))
        return self._next_in_queue(request)

    def approve_view(self, request, pk):
        return self._decide(request, pk, lambda obj: self.approve(obj, request.user), self.approved_message)

    def reject_view(self, request, pk):
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and not form.is_valid():
            messages.error(request, "Give the reason for the rejection: the person concerned reads it.")
            return self._redirect_to(pk)
        reason = form.cleaned_data["reason"] if form.is_bound else ""
        return self._decide(request, pk, lambda obj: self.reject(obj, request.user, reason), self.rejected_message)

    @admin.action(description="Approve selected")
    def approve_selected(self, request, queryset):
        run_each(request, queryset, lambda obj: self.approve(obj, request.user), "Approved {count}.")

    @admin.action(description="Reject selected (with a reason)")
    def reject_selected(self, request, queryset):
        return run_each_with_reason(
            self, request, queryset, title=f"Reject {self.opts.verbose_name_plural}", action_name="reject_selected",
            action=lambda obj, reason: self.reject(obj, request.user, reason), success="Rejected {count}.",
        )

from django.contrib import admin, messages
from django.db.models import Case, CharField, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.functions import Cast, Concat
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from cadcam.admin_helpers import ReadOnlyAdmin, run_each
from cadcam.errors import ApplicationError
from cadcam.money import format_cents
from disputes.forms import ResolutionForm
from disputes.models import Chargeback, Dispute
from disputes.services import chargeback_handle, dispute_resolve
from messaging.models import Conversation, Message


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    """Open disputes first, oldest first; the change page has the decision form."""

    list_display = ["id", "order", "opened_by", "reason", "status", "opened_at", "last_message", "waiting_for_staff",
                    "refunded"]
    list_filter = ["status", "reason"]
    search_fields = ["=id", "=order__id", "opened_by__email", "order__freelancer__email"]
    list_select_related = ["order", "opened_by"]
    change_form_template = "admin/disputes/dispute/change_form.html"
    extra_readonly = ("order_link", "thread_link")

    def get_queryset(self, request):
        # The dispute thread's newest message: staff see at a glance where the parties wrote last.
        last = Message.objects.filter(
            conversation__key=Concat(Value("dispute:"), Cast(OuterRef("pk"), CharField()))
        ).order_by("-pk")
        return super().get_queryset(request).annotate(
            open_first=Case(When(status=Dispute.Status.OPEN, then=Value(0)), default=Value(1),
                            output_field=IntegerField()),
            last_message_at=Subquery(last.values("created_at")[:1]),
            last_by_staff=Subquery(last.values("sender__is_staff")[:1]),
        ).order_by("open_first", "opened_at")

    @admin.display(description="last message", ordering="last_message_at")
    def last_message(self, obj):
        return obj.last_message_at or "—"

    @admin.display(description="waiting for staff", boolean=True)
    def waiting_for_staff(self, obj):
        """Open, and the last word in its thread is a party's."""
        return obj.is_open and obj.last_by_staff is False

    @admin.display(description="refunded", ordering="refunded_cents")
    def refunded(self, obj):
        return format_cents(obj.refunded_cents) if obj.refunded_cents else "—"

    @admin.display(description="order and its ledger")
    def order_link(self, obj):
        url = reverse("admin:orders_order_change", args=[obj.order_id])
        return format_html('<a href="{}">Order #{} — {} ({})</a>', url, obj.order_id, obj.order.title,
                           format_cents(obj.order.total_cents, obj.order.currency))

    @admin.display(description="dispute thread")
    def thread_link(self, obj):
        thread = Conversation.objects.filter(key=f"dispute:{obj.pk}").first()
        if thread is None:
            return "—"
        return format_html('<a href="{}">Read and answer the three-party thread</a>',
                           reverse("messaging:conversation", args=[thread.pk]))

    def get_urls(self):
        resolve = self.admin_site.admin_view(require_POST(self.resolve_view))
        return [path("<path:object_id>/resolve/", resolve, name="disputes_dispute_resolve"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "resolution_form": ResolutionForm(),
            "resolve_url": reverse("admin:disputes_dispute_resolve", args=[object_id]),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def resolve_view(self, request, object_id):
        dispute = get_object_or_404(Dispute, pk=object_id)
        back = redirect("admin:disputes_dispute_change", dispute.pk)
        if not self.has_change_permission(request, dispute):
            messages.error(request, "You may not resolve disputes.")
            return back
        form = ResolutionForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return back
        data = form.cleaned_data
        try:
            dispute = dispute_resolve(dispute=dispute, by=request.user, outcome=data["outcome"], note=data["note"],
                                      refund_cents=data["refund"], allow_another=data["allow_another"])
        except ApplicationError as error:
            messages.error(request, error.message)
            return back
        messages.success(request, f"{dispute}: both parties were e-mailed the decision.")
        return redirect("admin:disputes_dispute_changelist")


@admin.register(Chargeback)
class ChargebackAdmin(ReadOnlyAdmin):
    list_display = ["gateway_id", "order", "amount", "reason", "status", "payout_frozen", "created_at", "handled_at"]
    list_filter = ["status", "payout_frozen", ("handled_at", admin.EmptyFieldListFilter)]
    search_fields = ["=gateway_id", "=order__id"]
    list_select_related = ["order"]
    actions = ["mark_handled", "mark_handled_and_release"]

    @admin.display(description="amount", ordering="amount_cents")
    def amount(self, obj):
        return format_cents(obj.amount_cents)

    @admin.action(permissions=["change"], description="Mark handled (the payout stays on hold)")
    def mark_handled(self, request, queryset):
        run_each(request, queryset, lambda cb: chargeback_handle(chargeback=cb, by=request.user, release_payout=False),
                 "{count} chargeback(s) marked handled.")

    @admin.action(permissions=["change"], description="Mark handled and release the payout to the designer")
    def mark_handled_and_release(self, request, queryset):
        run_each(request, queryset, lambda cb: chargeback_handle(chargeback=cb, by=request.user, release_payout=True),
                 "{count} chargeback(s) handled; their payouts go on.")

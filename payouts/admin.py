from django.contrib import admin

from cadcam.admin_helpers import ReadOnlyAdmin, run_each, run_each_with_reason
from cadcam.money import format_cents
from orders.admin import OrderAdmin, ReadOnlyInline
from payouts.models import Payout, PayoutAccount, PayoutCountry
from payouts.services import payout_retry, payout_reverse


@admin.register(PayoutCountry)
class PayoutCountryAdmin(admin.ModelAdmin):
    list_display = ["country", "code", "enabled", "service_agreement"]
    list_filter = ["enabled"]
    list_editable = ["enabled"]
    search_fields = ["country"]

    @admin.display(description="code")
    def code(self, obj):
        return obj.country.code


@admin.register(PayoutAccount)
class PayoutAccountAdmin(ReadOnlyAdmin):
    list_display = ["user", "country", "gateway_account_id", "state", "requirements", "synced_at"]
    list_filter = ["payouts_enabled", "details_submitted", "country"]
    search_fields = ["user__email", "user__username", "=gateway_account_id"]
    list_select_related = ["user"]

    @admin.display(description="state")
    def state(self, obj):
        return obj.get_state_display()

    @admin.display(description="Stripe needs")
    def requirements(self, obj):
        return ", ".join(obj.requirements_due) or "—"


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ["order", "freelancer", "status", "amount", "due_at", "transfer_id", "attempts", "hold_reason"]
    list_filter = ["status", "currency"]
    search_fields = ["=order__id", "freelancer__email", "freelancer__username", "=transfer_id", "=bank_payout_id"]
    list_select_related = ["order", "freelancer"]
    date_hierarchy = "due_at"
    actions = ["retry_transfer", "reverse_transfer"]

    @admin.display(description="amount", ordering="amount_cents")
    def amount(self, obj):
        return format_cents(obj.amount_cents, obj.currency)

    @admin.action(
        permissions=["change"],
        description="Retry transfer (a transfer already made is taken over: never pays twice)",
    )
    def retry_transfer(self, request, queryset):
        run_each(request, queryset, lambda payout: payout_retry(payout=payout, by=request.user),
                 "{count} payout(s) sent or waiting for the designer's payout details.")

    @admin.action(
        permissions=["change"],
        description="Reverse the transfer: take what is left of it back from the designer",
    )
    def reverse_transfer(self, request, queryset):
        return run_each_with_reason(
            self, request, queryset, title="Reverse the transfers of these payouts", action_name="reverse_transfer",
            action=lambda payout, reason: payout_reverse(payout=payout, by=request.user, reason=reason),
            success="{count} transfer(s) reversed; the designers were e-mailed why.",
        )


class PayoutInline(ReadOnlyInline):
    model = Payout
    fields = readonly_fields = ["status", "amount_cents", "due_at", "transfer_id", "transferred_at", "paid_at",
                                "last_error", "failure_message"]


# Each order's admin page shows its payout too (orders cannot import payouts: it is below).
OrderAdmin.inlines = [*OrderAdmin.inlines, PayoutInline]

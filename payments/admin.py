from django.contrib import admin

from cadcam.admin_helpers import ReadOnlyAdmin, run_each
from cadcam.money import format_cents
from payments.models import LedgerEntry, MoneyOperation, StripeEvent
from payments.operations import money_operation_recover


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "order", "kind", "amount", "gateway_id", "note"]
    list_filter = ["kind"]
    search_fields = ["=order__id", "=gateway_id"]
    list_select_related = ["order"]

    @admin.display(description="amount", ordering="amount_cents")
    def amount(self, obj):
        return format_cents(obj.amount_cents, obj.currency)


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "type", "endpoint", "account", "event_id", "processed_at", "outcome"]
    list_filter = ["endpoint", "type"]
    search_fields = ["=event_id", "=account"]


@admin.register(MoneyOperation)
class MoneyOperationAdmin(ReadOnlyAdmin):
    """Every gateway call that moved money, with its outcome. An attempt still "outcome not
    known yet" is finished by the recovery job; "Ask the payment service now" runs it for the
    selected ones (those old enough that no answer can still be on its way)."""

    list_display = ["started_at", "order", "kind", "attempt", "amount", "state", "gateway_id", "checks", "error"]
    list_filter = ["state", "kind", "purpose"]
    search_fields = ["=order__id", "=idempotency_key", "=gateway_id"]
    list_select_related = ["order"]
    date_hierarchy = "started_at"
    actions = ["recover_now"]

    @admin.display(description="amount", ordering="amount_cents")
    def amount(self, obj):
        return obj.amount_display

    @admin.action(
        permissions=["change"],
        description="Ask the payment service now (attempts whose outcome is not known)",
    )
    def recover_now(self, request, queryset):
        run_each(request, queryset, lambda operation: money_operation_recover(operation=operation),
                 "{count} attempt(s) checked with the payment service.")

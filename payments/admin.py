from django.contrib import admin

from cadcam.admin_helpers import ReadOnlyAdmin
from cadcam.money import format_cents
from payments.models import LedgerEntry, StripeEvent


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

from django.contrib import admin

from cadcam.money import format_cents
from orders.models import Delivery, Order, OrderEvent, OrderOption, Pin
from payments.models import LedgerEntry


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = readonly_fields = ["created_at", "actor", "from_status", "to_status", "note"]


class OrderOptionInline(ReadOnlyInline):
    model = OrderOption
    fields = readonly_fields = ["name", "price_cents"]


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    fields = readonly_fields = ["number", "note", "created_at"]


class PinInline(ReadOnlyInline):
    model = Pin
    fk_name = "order"
    verbose_name_plural = 'pins on the 3D files ("Review in 3D" on the order page shows them on the model)'
    fields = readonly_fields = ["number", "file", "author", "kind", "text", "revision", "resolved_at", "resolved_by",
                                "reply"]


class LedgerEntryInline(ReadOnlyInline):
    model = LedgerEntry
    verbose_name_plural = "ledger: where this order's money is"
    fields = readonly_fields = ["created_at", "kind", "amount_cents", "currency", "gateway_id", "note"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders are read-only here: every change goes through orders/services.py."""

    list_display = ["id", "title", "employer", "freelancer", "status", "total", "created_at"]
    list_filter = ["status"]
    search_fields = ["=id", "title", "employer__email", "employer__username", "freelancer__email",
                     "freelancer__username"]
    list_select_related = ["employer", "freelancer"]
    inlines = [OrderOptionInline, DeliveryInline, OrderEventInline, PinInline, LedgerEntryInline]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Order._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="total", ordering="total_cents")
    def total(self, obj):
        return format_cents(obj.total_cents, obj.currency)

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        # Start-up registrations with the apps below (Django's place for them; see docs/architecture.md).
        from accounts.registry import register_deletion_guard, register_export_section
        from listings.contacts import register_contact_source
        from orders import metrics, webhooks  # noqa: F401  (register /metrics sources and the Stripe events orders own)
        from orders.finishers import BATCH_FINISHERS, FINISHERS
        from orders.pin_selectors import pins_export
        from orders.reconcile import orders_reconcile, orders_reconcile_gateway
        from orders.selectors import order_partner_ids, orders_export, orders_in_progress_guard
        from payments.batches import register_batch_finisher
        from payments.operations import register_finisher
        from payments.reconcile import register_gateway_check, register_reconcile_check

        register_deletion_guard("orders", orders_in_progress_guard)
        register_export_section("orders", orders_export)
        register_export_section("pins", pins_export)
        register_contact_source("orders", order_partner_ids)
        register_reconcile_check("orders", orders_reconcile)
        register_gateway_check("orders", orders_reconcile_gateway)
        for purpose, finisher in FINISHERS.items():
            register_finisher(purpose, finisher)
        for purpose, finisher in BATCH_FINISHERS.items():
            register_batch_finisher(purpose, finisher)

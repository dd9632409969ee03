"""Business metrics of orders for /metrics (cadcam/metrics.py), read at scrape time."""

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from cadcam.metrics import metrics_source
from orders.models import Order, OrderEvent


@metrics_source
def order_metrics():
    transitions = CounterMetricFamily(
        "cadcam_order_transitions", "Changes of an order's state since the start, by from and to state.",
        labels=["from_state", "to_state"],
    )
    for row in OrderEvent.objects.values("from_status", "to_status").annotate(n=Count("pk")).order_by():
        if row["to_status"]:
            transitions.add_metric([row["from_status"] or "", row["to_status"]], row["n"])
    yield transitions
    by_state = GaugeMetricFamily("cadcam_orders", "Orders now in each state.", labels=["state"])
    for row in Order.objects.values("status").annotate(n=Count("pk")).order_by():
        by_state.add_metric([row["status"]], row["n"])
    yield by_state

"""Business metrics of the money core for /metrics (cadcam/metrics.py), read at scrape time:
gateway calls and their outcomes, and how far behind Stripe's webhooks are processed."""

from datetime import timedelta

from django.db.models import Count, F, Max, Min
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from cadcam.metrics import metrics_source
from payments.models import MoneyOperation, StripeEvent

LAG_WINDOW = timedelta(hours=1)


@metrics_source
def payment_metrics():
    calls = CounterMetricFamily(
        "cadcam_gateway_calls", "Money-moving gateway calls by kind and outcome (started: outcome not known yet).",
        labels=["kind", "state"],
    )
    for row in MoneyOperation.objects.values("kind", "state").annotate(n=Count("pk")).order_by():
        calls.add_metric([row["kind"], row["state"]], row["n"])
    yield calls

    now = timezone.now()
    waiting = StripeEvent.objects.filter(processed_at__isnull=True).aggregate(n=Count("pk"), oldest=Min("received_at"))
    yield GaugeMetricFamily("cadcam_webhook_backlog", "Stripe events received and not processed yet.",
                            value=waiting["n"])
    yield GaugeMetricFamily(
        "cadcam_webhook_oldest_waiting_seconds", "Age of the oldest Stripe event not processed yet (0: none).",
        value=(now - waiting["oldest"]).total_seconds() if waiting["oldest"] else 0,
    )
    lag = (StripeEvent.objects.filter(processed_at__gt=now - LAG_WINDOW)
           .aggregate(longest=Max(F("processed_at") - F("received_at")))["longest"])
    yield GaugeMetricFamily(
        "cadcam_webhook_lag_seconds", "Longest time from receiving to processing a Stripe event in the last hour.",
        value=lag.total_seconds() if lag else 0,
    )

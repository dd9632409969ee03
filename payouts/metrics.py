"""Business metrics of payouts for /metrics (cadcam/metrics.py), read at scrape time."""

from django.db.models import Count, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from cadcam.metrics import metrics_source
from payouts.models import Payout


@metrics_source
def payout_metrics():
    due = Payout.objects.filter(status__in=[Payout.Status.CLEARING, Payout.Status.DUE],
                                due_at__lte=timezone.now()).aggregate(n=Count("pk"), cents=Sum("amount_cents"))
    yield GaugeMetricFamily("cadcam_payouts_due", "Payouts past their clearing date and not sent yet.", value=due["n"])
    yield GaugeMetricFamily("cadcam_payouts_due_cents", "What those payouts add up to, in cents.",
                            value=due["cents"] or 0)
    by_status = GaugeMetricFamily("cadcam_payouts", "Payouts in each state.", labels=["state"])
    for row in Payout.objects.values("status").annotate(n=Count("pk")).order_by():
        by_status.add_metric([row["status"]], row["n"])
    yield by_status

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from listings.selectors import categories_active, favorites_of, listings_of_owner
from orders.models import Order
from orders.selectors import orders_received_by, orders_sent_by


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico on their own (the admin has no icon link)."""
    return redirect(static("img/logo.svg"), permanent=True)


@login_required
def dashboard(request):
    """The signed-in user's work: orders sent and received (what needs their move first),
    their listings as a seller, and saved listings."""
    status = request.GET.get("status") or None
    if status not in Order.Status.values:
        status = None
    context = {
        "order_lists": [
            ("Orders I sent", orders_sent_by(request.user, status=status), "Designer", "orders-sent"),
            ("Orders I received", orders_received_by(request.user, status=status), "Client", "orders-received"),
        ],
        "order_states": Order.Status.choices,
        "status_filter": status,
        "my_listings": listings_of_owner(request.user),
        "favorites": favorites_of(request.user),
    }
    return render(request, "dashboard.html", context)


def home(request):
    return render(request, "home.html", {"categories": categories_active()})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _redis_ok() -> bool:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


@never_cache
@require_GET
def healthz(request):
    checks = {"database": _database_ok(), "redis": _redis_ok()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "error", **{name: "ok" if ok else "error" for name, ok in checks.items()}}
    return JsonResponse(body, status=200 if healthy else 503)


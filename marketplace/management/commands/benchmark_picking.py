"""Time a click on a large 3D delivery in the design review page, in headless Chromium.

    python -m cadcam.embedded -- python manage.py benchmark_picking [--triangles 1000000] [--clicks 40]

Makes (once; later runs reuse it) a delivered order between the demo lab and the demo designer
(`seed_demo` first) whose delivery is a binary STL of about --triangles triangles: a wavy
60 x 50 mm height field, the shape of a scanned arch segment, generated here (no randomness).
Then it collects the static files (production serves them under hashed names), starts gunicorn
as production does (DJANGO_DEBUG=false), opens the order's "Review in 3D" page in the system
Chromium, headless and without a GPU (WebGL on SwiftShader, the CPU) as the browser tests run it,
signed in as the lab, waits until the model is drawn and the picking index is built in the
worker, and clicks --clicks points spread over the model.

For each click the page records (static/js/previews/review.js) the time from the pointer being
released to the picked point being shown on the page (`data-last-pick-ms`) and, of that, the
worker's ray cast (`data-last-pick-worker-ms`). It prints p50, p95 and max of both over the clicks
that hit the model, the time to download, parse and draw the file, the index build time,
/healthz's p50 through the same gunicorn for scale, and the load average before and after.
The target (issue 19): a click answers in under 50 ms."""

from __future__ import annotations

import math
import os
import struct
import time
from io import StringIO

import requests
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from accounts.models import User
from listings.management.commands.benchmark_search import percentile
from listings.models import Listing
from marketplace.benchmarking import CHROMIUM_ARGS, collect_static, gunicorn, load_average
from marketplace.management.commands.benchmark_pages import session_cookie
from orders.models import OrderFile
from orders.services import order_accept, order_create, order_deliver, order_mark_authorized
from payments.simulated import SimulatedGateway

REFERENCE = "Lab ref BENCH-PICK-{}\n"


def grid_side(triangles: int) -> int:
    """Points along each side of the grid: two triangles a cell, at least `triangles` in all."""
    return math.ceil(math.sqrt(triangles / 2)) + 1


def height_field_stl(triangles: int) -> bytes:
    """A binary STL: a (n-1) x (n-1) grid of 60 x 50 mm, two triangles a cell, z a few mm of waves."""
    n = grid_side(triangles)
    xs = [60.0 * i / (n - 1) for i in range(n)]
    ys = [50.0 * j / (n - 1) for j in range(n)]
    rows = [[4 * math.sin(x / 4) * math.cos(y / 5) + 8 for x in xs] for y in ys]
    pack = struct.Struct("<12fH").pack
    chunks = [b"benchmark_picking height field, mm".ljust(80, b" "), struct.pack("<I", 2 * (n - 1) ** 2)]
    for j in range(n - 1):
        a, b = rows[j], rows[j + 1]
        y0, y1 = ys[j], ys[j + 1]
        chunks.append(b"".join(
            pack(0, 0, 0, xs[i], y0, a[i], xs[i + 1], y0, a[i + 1], xs[i + 1], y1, b[i + 1], 0)
            + pack(0, 0, 0, xs[i], y0, a[i], xs[i + 1], y1, b[i + 1], xs[i], y1, b[i], 0)
            for i in range(n - 1)))
    return b"".join(chunks)


class Command(BaseCommand):
    help = "Time picking a point on a large delivered STL in the design review page (headless Chromium)."

    def add_arguments(self, parser):
        parser.add_argument("--triangles", type=int, default=1_000_000)
        parser.add_argument("--clicks", type=int, default=40)
        parser.add_argument("--timeout", type=int, default=600, help="seconds to wait for the model to be ready")

    def handle(self, *args, triangles: int, clicks: int, timeout: int, **options):
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            raise CommandError("Install the development requirements (Playwright): make test does.") from None
        chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
        if not os.access(chromium, os.X_OK):
            raise CommandError(f"No Chromium at {chromium}: apt-get install chromium, or set CHROMIUM_PATH.")
        call_command("migrate", verbosity=0)
        collect_static()  # production serves hashed names from a manifest
        stored = self._delivery(triangles)
        order = stored.order
        cookie_name, cookie_value = session_cookie(order.employer).split("=", 1)
        self.stdout.write(f"Mesh: {stored.name}, {stored.size / 1e6:.1f} MB. Load average before: {load_average()}")
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        extra_env = {"DJANGO_PRIVATE_MEDIA_ROOT": str(settings.PRIVATE_MEDIA_ROOT),
                     "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
                     "PREVIEW_MAX_TRIANGLES": str(max(settings.PREVIEW_MAX_TRIANGLES, triangles + 10))}
        with gunicorn(extra_env) as (base, _master), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
            context.add_cookies([{"name": cookie_name, "value": cookie_value, "url": base}])
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            started = time.monotonic()
            response = page.goto(reverse("orders:review", args=[order.pk, stored.pk]))
            root = page.locator("[data-review]")
            if not root.count():
                raise CommandError(f"The review page did not open: {response.status} at {page.url}")
            page.wait_for_function(
                "() => { const r = document.querySelector('[data-review]');"
                " return r.dataset.pickReady === '1' || ['error', 'fallback'].includes(r.dataset.state); }",
                timeout=timeout * 1000, polling=500)
            ready = time.monotonic() - started
            if root.get_attribute("data-state") != "ready":
                raise CommandError(f"The model was not drawn: {page.locator('[data-review-status]').inner_text()}")
            figures = self._click(page, root, clicks)
            healthz = self._healthz(base)
            self.stdout.write(
                f"Ready to pick after {ready:.1f} s (download, parse, first frame on SwiftShader, index); "
                f"index built in the worker in {float(root.get_attribute('data-bvh-ms')):.0f} ms; "
                f"{root.locator('[data-review-size]').inner_text()}"
            )
            browser.close()
        if errors:
            raise CommandError(f"The page reported errors: {errors}")
        total, worker = figures
        if not total:
            raise CommandError("No click hit the model.")
        self.stdout.write(f"Clicks that hit the model: {len(total)} of {clicks}.")
        for label, values in (("click to answer on the page", sorted(total)),
                              ("ray cast in the worker", sorted(worker))):
            self.stdout.write(f"{label:>30}: p50 {percentile(values, 50):.1f} ms, p95 {percentile(values, 95):.1f} ms, "
                              f"max {max(values):.1f} ms")
        ratio = percentile(sorted(total), 50) / percentile(healthz, 50)
        self.stdout.write(f"{'/healthz through gunicorn':>30}: p50 {percentile(healthz, 50):.1f} ms (the same run, "
                          f"for scale: a click answers in {ratio:.1f}x the time of the trivial view)")
        self.stdout.write(f"Load average after: {load_average()}")

    @staticmethod
    def _healthz(base: str, count: int = 50) -> list[float]:
        with requests.Session() as session:
            times = []
            for _ in range(count + 5):
                started = time.perf_counter()
                session.get(f"{base}/healthz", timeout=10).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
        return sorted(times[5:])

    def _click(self, page, root, clicks: int) -> tuple[list[float], list[float]]:
        """Click a grid of points over the middle of the canvas, one at a time, waiting for each answer."""
        box = page.locator("[data-review-stage] canvas").first.bounding_box()
        side = math.ceil(math.sqrt(clicks))
        total, worker = [], []
        for index in range(clicks):
            row, column = divmod(index, side)
            x = box["x"] + box["width"] * (0.3 + 0.4 * (column + 0.5) / side)
            y = box["y"] + box["height"] * (0.3 + 0.4 * (row + 0.5) / side)
            before = int(root.get_attribute("data-picks") or 0)
            page.mouse.click(x, y)
            page.wait_for_function(
                f"() => Number(document.querySelector('[data-review]').dataset.picks || 0) > {before}",
                timeout=30_000, polling="raf")
            if root.get_attribute("data-last-pick-hit") == "1":
                total.append(float(root.get_attribute("data-last-pick-ms")))
                worker.append(float(root.get_attribute("data-last-pick-worker-ms")))
            page.keyboard.press("Escape")
        return total, worker

    def _delivery(self, triangles: int) -> OrderFile:
        """The delivered order with the generated mesh, made once per size."""
        reference = REFERENCE.format(2 * (grid_side(triangles) - 1) ** 2)
        existing = OrderFile.objects.filter(order__instructions__startswith=reference, delivery__isnull=False,
                                            deleted_at__isnull=True).select_related("order").first()
        if existing:
            return existing
        call_command("seed_demo", stdout=StringIO())  # the demo's users and listings
        employer, designer = User.objects.get(username="employer"), User.objects.get(username="freelancer")
        listing = Listing.objects.filter(owner=designer, edit_of__isnull=True, is_private=False).first()
        order = order_create(listing=listing, employer=employer, instructions=f"{reference}Picking benchmark.",
                             files=[SimpleUploadedFile("scan.stl", height_field_stl(1000))])
        SimulatedGateway().customer_pays(payment_id=order.payment_id, approve=True)
        order = order_accept(order=order_mark_authorized(order=order), by=designer)
        mesh = height_field_stl(triangles)
        order_deliver(order=order, by=designer, files=[SimpleUploadedFile(f"arch-{triangles}.stl", mesh)])
        return OrderFile.objects.select_related("order").get(order=order, delivery__isnull=False)

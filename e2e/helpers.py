"""Steps the browser journeys share."""

import math
import struct
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from accounts.tests.helpers import PASSWORD


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_test_id("user-menu")).to_be_visible()


def new_page(browser: Browser, base_url: str) -> Page:
    """A page in a browser context of its own: another person at another computer."""
    page = browser.new_context(base_url=base_url).new_page()
    page.set_default_timeout(15_000)
    return page


def write_review(page: Page, stars: int, text: str) -> None:
    """On the order page: pick the stars, write the review, publish it."""
    block = page.get_by_test_id("order-reviews")
    block.locator(f'label[title^="{stars} star"]').click()
    expect(block.get_by_role("radio", name=f"{stars} star")).to_be_checked()
    block.get_by_label("Your review").fill(text)
    block.get_by_role("button", name="Publish review").click()


def write_stl(tmp_path: Path, name: str, segments: int = 24) -> Path:
    """A small binary STL (zero normals, as many exporters write): a dome 10 mm wide and 7 mm high."""

    def point(ring: int, step: int) -> tuple[float, float, float]:
        polar, angle = math.pi / 2 * ring / 6, 2 * math.pi * step / segments
        return (5 * math.sin(polar) * math.cos(angle), 5 * math.sin(polar) * math.sin(angle), 7 * math.cos(polar))

    triangles = []
    for ring in range(6):
        for step in range(segments):
            a, b = point(ring, step), point(ring, step + 1)
            c, d = point(ring + 1, step + 1), point(ring + 1, step)
            triangles += [(a, c, b), (a, d, c)] if ring else [(a, c, d)]
    body = b"".join(struct.pack("<12fH", 0, 0, 0, *a, *b, *c, 0) for a, b, c in triangles)
    path = tmp_path / name
    path.write_bytes(b"e2e crown".ljust(80, b" ") + struct.pack("<I", len(triangles)) + body)
    return path

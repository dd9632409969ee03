"""The rating benchmark keeps working (timings are not checked)."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from listings.models import Listing

pytestmark = pytest.mark.django_db


def test_benchmark_ratings_fills_synthetic_ratings_and_times_the_rating_requests():
    call_command("seed_listings", "--count", "60", stdout=StringIO())

    for mode in (["--fill"], ["--selector-only"]):
        out = StringIO()
        call_command("benchmark_ratings", "--queries", "5", "--warmup", "1", *mode, stdout=out)
        output = out.getvalue()
        assert re.search(r"p50 [\d.]+ ms \| p95 [\d.]+ ms \| p99 [\d.]+ ms \| max [\d.]+ ms", output)
        assert output.count(" ms  ?") == 5

    rated = Listing.objects.filter(rating_count__gt=0)
    assert 0 < rated.count() < 60
    assert all(2 <= float(avg) <= 5 for avg in rated.values_list("rating_avg", flat=True))
    assert f"rated: {rated.count()}" in output

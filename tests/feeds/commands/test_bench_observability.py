"""bench_observability at a tiny size, on whatever database the run has: one table with both
variants of every endpoint (each request answered 200, else it stops), and the throttle rates it
raised for itself are back afterwards. Never timings."""

import io

import pytest
from django.core.management import call_command
from rest_framework.throttling import SimpleRateThrottle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


def test_one_table_both_variants_every_endpoint():
    rates = dict(SimpleRateThrottle.THROTTLE_RATES)
    out = io.StringIO()
    call_command("bench_observability", "--requests", 3, "--scale", 0.001, stdout=out, stderr=io.StringIO())
    output = out.getvalue()
    rows = [line.split("  ")[0] for line in output.splitlines() if line.startswith("GET ")]
    assert rows == [
        endpoint for endpoint in ("GET /healthz", "GET /api/v1/posts/{id}", "GET /api/v1/feed") for _ in (1, 2, 3)
    ]
    assert output.count("with metrics and request logs") == 3
    assert output.count("metrics only") == 3
    assert output.count("without them") == 3
    assert rates == SimpleRateThrottle.THROTTLE_RATES

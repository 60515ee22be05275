"""bench_http at a tiny size against real PostgreSQL and Redis, with both shapes it starts (one
Daphne; nginx + gunicorn + Daphne) driven by wrk: the table has every endpoint for both shapes and
no errors, the posts it made are gone, and it stops what it started. Never timings. Without
PostgreSQL, Redis, nginx or wrk it skips, except under CI=true, where that fails.
"""

import io
import re
import shutil

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from feeds.management.commands.bench_feed import PREFIX
from feeds.management.commands.bench_http import ENDPOINTS
from posts.models import Post
from tests.conftest import require

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


def bench(*args):
    out = io.StringIO()
    call_command("bench_http", *[str(arg) for arg in args], stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_both_shapes_every_endpoint_one_table_no_errors():
    require(connection.vendor == "postgresql", "DATABASE_URL is not PostgreSQL: bench_http needs it")
    require(bool(settings.REDIS_URL), "REDIS_URL not set: bench_http needs Redis")
    require(bool(shutil.which("nginx")), "nginx is not installed (apt-get install nginx-light)")
    require(bool(shutil.which("wrk")), "wrk is not installed (apt-get install wrk)")

    output = bench("--duration", 1, "--concurrency", 1, "--scale", 0.001)

    assert "building bench_feed's data" in output
    rows = {}
    for label, *_ in ENDPOINTS.values():
        [line] = [line for line in output.splitlines() if line.startswith(f"{label}  ")]
        rows[label] = line
        # endpoint, c, then per shape: req/s, p50, p99, cpu/req, errors, pg conns
        cells = re.split(r"\s{2,}", line.strip())
        assert cells[0] == label and cells[1] == "1", line
        old, new = cells[2:8], cells[8:14]
        for shape in (old, new):
            assert float(shape[0]) > 0, line  # requests were answered
            assert all(cell.endswith(" ms") for cell in shape[1:4]), line
            assert float(shape[3].removesuffix(" ms")) > 0, line  # the shape's processes did the work
            assert shape[4] == "0/0", line  # no answer other than 2xx, no socket error
            assert 1 <= int(shape[5]) <= 100, line  # the shape's own PostgreSQL connections, sampled
    assert "old req/s" in output and "new req/s" in output
    assert re.search(r"machine: \d+ cores", output)
    # The posts POST /api/v1/posts made are deleted again.
    assert not Post.objects.filter(author__username__startswith=PREFIX, content__startswith="bench_http").exists()


def test_refuses_sqlite_and_bad_flags():
    if connection.vendor != "postgresql":
        with pytest.raises(CommandError, match="needs PostgreSQL"):
            bench("--duration", 1)
        return
    for args, message in (
        (("--shapes", "fast"), "--shapes"),
        (("--endpoints", "nope"), "--endpoints"),
        (("--concurrency", "x"), "--concurrency"),
        (("--duration", 0), "at least 1"),
    ):
        if not settings.REDIS_URL:
            break
        with pytest.raises(CommandError, match=message):
            bench(*args)

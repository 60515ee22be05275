"""bench_search at a tiny size against real PostgreSQL: the data it builds, that a second run
reuses them, the table it prints. Never timings."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Follow, User
from posts.models import Post
from search.management.commands.bench_search import MARKER, PREFIX, TAG_PREFIX
from search.models import CompletionName
from tests.conftest import require

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]
SIZES = ["--users", "300", "--posts", "3000", "--queries", "10"]
QUERIES = ["post search", "user autocomplete", "people search, a typo", "hashtag autocomplete"]


def bench(*args):
    out = io.StringIO()
    call_command("bench_search", *args, stdout=out)
    return out.getvalue()


def rows(output):
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("query"))
    found = {}
    for line in lines[header + 2 :]:
        if line.strip():
            name, rest = re.split(r"\s{2,}", line, maxsplit=1)
            found[name] = re.split(r"\s{2,}", rest)
    return found


def test_builds_reuses_and_reports():
    require(connection.vendor == "postgresql", "bench_search needs PostgreSQL (DATABASE_URL)")
    output = bench(*SIZES)
    assert "building 300 users and 3,000 posts" in output
    bench_users = User.objects.filter(first_name=MARKER)
    assert bench_users.count() == 301
    viewer = bench_users.get(username=f"{PREFIX}viewer")
    assert Follow.objects.filter(follower=viewer).count() == 300
    posts = Post.objects.filter(author__first_name=MARKER)
    assert posts.count() == 3000
    assert posts.filter(deleted_at__isnull=False).count() == 30
    assert posts.filter(hashtags__name__startswith=TAG_PREFIX).distinct().count() == 1000
    table = rows(output)
    assert list(table) == QUERIES
    for name, cells in table.items():
        assert all(re.fullmatch(r"[\d.]+ ms", cell) for cell in cells[:2]), (name, cells)
    for name in ("post search", "user autocomplete"):
        assert float(table[name][2]) > 1, (name, table[name])  # the queries find things
    assert re.fullmatch(r"p99 ≤ 50 ms: (met|MISSED)", table["post search"][3])
    assert re.fullmatch(r"p99 ≤ 20 ms: (met|MISSED)", table["user autocomplete"][3])
    # The names autocomplete reads, as the sign-ups' index tasks would have written them.
    assert CompletionName.objects.filter(user__first_name=MARKER).values("user").distinct().count() == 301

    again = bench(*SIZES)  # the data stay: no second build
    assert "building" not in again and list(rows(again)) == QUERIES
    with pytest.raises(CommandError, match="another size"):
        bench("--users", "299", "--posts", "3000", "--queries", "1")
    rebuilt = bench("--reset", "--users", "100", "--posts", "500", "--queries", "2")
    assert "deleting previous bench_search data" in rebuilt
    assert User.objects.filter(first_name=MARKER).count() == 101
    assert CompletionName.objects.filter(user__first_name=MARKER).values("user").distinct().count() == 101


def test_compares_the_visible_to_cache_three_ways():
    require(connection.vendor == "postgresql", "bench_search needs PostgreSQL (DATABASE_URL)")
    output = bench(*SIZES, "--compare-visible-cache")
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("p50 / p99"))
    assert re.split(r"\s{2,}", lines[header]) == [
        "p50 / p99",
        "cache warm (as is)",
        "cache emptied first",
        "no cache",
        "no cache vs warm, p50",
    ]
    found = {}
    for line in lines[header + 2 :]:
        if line.strip():
            name, *cells = re.split(r"\s{2,}", line)
            found[name] = cells
    assert list(found) == [
        "post search (search.selectors.search)",
        "a profile's posts, page of 20",
        "a hashtag's posts, page of 20",
        "Post.objects.visible_to(viewer) alone",
    ]
    for cells in found.values():
        assert all(re.fullmatch(r"[\d.]+ ms / [\d.]+ ms", cell) for cell in cells[:3]), cells
    assert "user autocomplete" not in output  # only the comparison ran

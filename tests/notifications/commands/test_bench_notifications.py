"""bench_notifications at a tiny size, against real PostgreSQL, Redis and the Celery broker, with
the Daphne and the Celery worker it starts: the data it builds, the notifications the real code
made (in this process for the bulk run, in the worker for the likes), the table it prints, and
that it stops the processes. Never timings. Without the services it skips, except under
CI=true, where that fails.
"""

import io
import os
import re
import socket

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Follow, Mute, User
from notifications.management.commands.bench_notifications import DEACTIVATED, MUTED, PREFIX, TYPE_OFF
from notifications.models import Bell, Notification, Preferences
from posts.models import Like, Post
from tests.conftest import require
from tests.messaging.commands.test_bench_chat import millis, table

# Real commits: the Daphne and the worker read what the command wrote, through the test database.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

SUBSCRIBERS, BATCH, ACTIONS, WARMUP = 250, 100, 5, 1
ARGS = [
    *("--subscribers", SUBSCRIBERS, "--batch", BATCH, "--online", 0.1, "--workers", 2),
    *("--actions", ACTIONS, "--warmup", WARMUP, "--rate", 20),
]
METRICS = [
    "notifications/s, bulk, one worker (in process)",
    "  notifications made",
    "  plan (on_post_published)",
    "  per batch (on_new_post_batch), p50",
    "  per batch (on_new_post_batch), p99",
    "  notification.new to online subscribers",
    "every batch again (retried tasks)",
    "notifications/s, bulk, 2 Celery workers",
    "like → notification.new on the socket, p50",
    "like → notification.new on the socket, p99",
    "notifications received on the socket",
    "  like notifications stored for the recipient",
    "  like HTTP response, p50 / p99",
]


@pytest.fixture
def services():
    require(connection.vendor == "postgresql", "DATABASE_URL is not PostgreSQL: bench_notifications needs it")
    require(bool(django_settings.REDIS_URL), "REDIS_URL not set: bench_notifications needs Redis")
    require(
        django_settings.CELERY_BROKER_URL.startswith("redis"),
        "CELERY_BROKER_URL not set: bench_notifications needs a broker for its Celery worker",
    )


def bench(*args):
    out = io.StringIO()
    call_command("bench_notifications", *[str(arg) for arg in args], stdout=out, stderr=io.StringIO())
    return out.getvalue()


def stopped(output, workers=2):
    """The processes the command reported, and that each is gone (and Daphne's port closed)."""
    daphne = re.findall(r"daphne pid (\d+) port (\d+) \(exit -?\d+\)", output)
    worker = re.findall(r"(?:bulk-worker-\d|celery-worker) pid (\d+) \(exit -?\d+\)", output)
    assert len(daphne) == 1 and len(worker) == 1 + workers, output
    for pid in (daphne[0][0], *worker):
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(daphne[0][1]))) != 0


def bench_users():
    return User.objects.filter(username__startswith=PREFIX)


def skipped(number):
    return any(number % every == offset for every, offset in (TYPE_OFF, MUTED, DEACTIVATED))


def test_bulk_and_latency_through_the_real_code_and_one_table(services):
    output = bench(*ARGS)

    # Its data: the celebrity, its bell subscribers following it, the latency pair; some subscribers
    # turned new_post off, mute the celebrity or are deactivated.
    users = bench_users()
    assert users.count() == SUBSCRIBERS + 3
    assert not any(user.has_usable_password() for user in users[:20])
    celebrity = users.get(username=f"{PREFIX}celebrity")
    subscribers = {int(u.username.removeprefix(f"{PREFIX}s")): u for u in users.filter(username__regex=r"_s\d+$")}
    assert sorted(subscribers) == list(range(SUBSCRIBERS))
    assert Bell.objects.filter(author=celebrity).count() == SUBSCRIBERS
    assert Follow.objects.filter(followed=celebrity).count() == SUBSCRIBERS
    assert Preferences.objects.filter(user__in=users, new_post=False).count() == 3  # 7, 107, 207
    assert Mute.objects.filter(muted=celebrity).count() == 2  # 13, 213
    assert users.filter(is_active=False).count() == 1  # 29

    # Bulk, in this process for the first post and through the workers' tasks for the second: one
    # new_post notification per reachable subscriber, made by the real code; none twice.
    expected = {u.pk for n, u in subscribers.items() if not skipped(n)}
    assert len(expected) == SUBSCRIBERS - 6
    posts = list(Post.objects.filter(author=celebrity))
    assert len(posts) == 2
    for post in posts:
        made = Notification.objects.filter(post=post, type=Notification.Type.NEW_POST)
        assert set(made.values_list("recipient_id", flat=True)) == expected
        assert made.count() == len(expected)
        assert set(made.values_list("actor_id", "key")) == {(celebrity.pk, f"new_post:{post.pk}")}

    # Latency: every like went through Daphne and the worker, one notification each.
    recipient, actor = users.get(username=f"{PREFIX}recipient"), users.get(username=f"{PREFIX}actor")
    liked = Post.objects.filter(author=recipient)
    assert liked.count() == WARMUP + ACTIONS
    assert Like.objects.filter(user=actor, post__in=liked).count() == WARMUP + ACTIONS
    likes = Notification.objects.filter(recipient=recipient, type=Notification.Type.LIKE)
    assert sorted(likes.values_list("post_id", flat=True)) == sorted(liked.values_list("pk", flat=True))
    assert set(likes.values_list("actor_id", flat=True)) == {actor.pk}

    rows = table(output)
    assert list(rows) == METRICS
    rate = rows["notifications/s, bulk, one worker (in process)"]
    assert re.fullmatch(rf"[\d,]+/s \({len(expected)} in [\d.]+ s\)", rate[0]), rate
    assert re.fullmatch(r"≥ 20,000/s: (met|MISSED)", rate[1])
    assert rows["  notifications made"] == (
        f"{len(expected)} of {SUBSCRIBERS} subscribers, {len(expected)} stored",
        f"{len(expected)}, the right ones: met",
    )
    batch50, batch99 = (millis(rows[f"  per batch (on_new_post_batch), {q}"][0]) for q in ("p50", "p99"))
    assert 0 < batch50 <= batch99
    online = sum(1 for n in range(0, SUBSCRIBERS, 10) if not skipped(n))  # --online 0.1: every 10th
    assert rows["  notification.new to online subscribers"][0].startswith(f"{online} events, ")
    assert re.fullmatch(r"0 new rows in [\d.]+ s", rows["every batch again (retried tasks)"][0])
    assert rows["every batch again (retried tasks)"][1] == "0: met"
    through = rows["notifications/s, bulk, 2 Celery workers"]
    assert re.fullmatch(rf"[\d,]+/s \({len(expected)} in [\d.]+ s; 3 batch tasks, queued → last done\)", through[0]), (
        through
    )
    assert re.fullmatch(r"≥ 20,000/s: (met|MISSED)", through[1])
    p50, p99 = (millis(rows[f"like → notification.new on the socket, {q}"][0]) for q in ("p50", "p99"))
    assert 0 < p50 <= p99
    assert re.fullmatch(r"≤ 1,000 ms: (met|MISSED)", rows["like → notification.new on the socket, p99"][1])
    assert rows["notifications received on the socket"] == (f"{ACTIONS}/{ACTIONS}", "all: met")
    assert rows["  like notifications stored for the recipient"][0] == f"{WARMUP + ACTIONS}/{WARMUP + ACTIONS}"
    assert rows["  like HTTP response, p50 / p99"][0].endswith("(status 201)")
    assert f"on_new_post_batch × {-(-SUBSCRIBERS // BATCH)} (batches of {BATCH})" in output
    assert re.search(r"machine: \d+ cores, .* load average [\d.]+ before, [\d.]+ after", output)
    stopped(output)

    # A second run refuses to mix its data with the first; --reset replaces it.
    first_ids = set(users.values_list("pk", flat=True))
    with pytest.raises(CommandError, match="--reset"):
        bench(*ARGS)
    output = bench("--subscribers", 20, "--actions", 1, "--warmup", 0, "--workers", 0, "--reset")
    assert bench_users().count() == 20 + 3
    assert not set(bench_users().values_list("pk", flat=True)) & first_ids
    assert not Notification.objects.filter(post_id__in=[post.pk for post in posts]).exists()
    assert Notification.objects.filter(type=Notification.Type.NEW_POST).count() == 20 - 2  # not 7 and 13
    assert table(output)["notifications received on the socket"][0] == "1/1"
    assert not any(metric.startswith("notifications/s, bulk, ") and "Celery" in metric for metric in table(output))
    stopped(output, workers=0)


def test_refuses_to_run_without_postgres_redis_and_a_broker(settings):
    settings.REDIS_URL = ""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    with pytest.raises(CommandError, match=r"bench_notifications needs (PostgreSQL: set DATABASE_URL|Redis: set)"):
        bench("--subscribers", 1)
    assert not bench_users().exists()


def test_compare_rows_times_both_ways_on_the_same_calls_and_stops(services):
    output = bench("--subscribers", 40, "--batch", 20, "--repeats", 2, "--compare-rows")
    assert "both ways give the same notification.new payloads: yes" in output
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("p50 of 2"))
    assert "(notify's)" in lines[header]
    first_way = lines[header].index("plain Notification(**values) (notify's)")
    names = [line[:first_way].rstrip() for line in lines[header + 2 :] if line.strip()]
    assert names == [
        f"build the objects alone ({20 - sum(map(skipped, range(20, 40)))} rows)",
        "notify, 20 recipients, 2% online",
        "  of which building the objects",
        "notify, 20 recipients, all online",
        "  of which building the objects",
    ]
    assert "starting Daphne" not in output and "bulk:" not in output  # only the comparison ran
    # Every timed call inserted (a fresh key each): the untimed call, then 2 ways × 2 cases × 3 rounds.
    keys = set(Notification.objects.filter(key__startswith="benchrows:").values_list("key", flat=True))
    assert len(keys) == 1 + 2 * 2 * 3


def test_compare_rows_needs_two_batches(services):
    with pytest.raises(CommandError, match="--compare-rows needs --subscribers of at least 2"):
        bench("--subscribers", 30, "--batch", 20, "--compare-rows")

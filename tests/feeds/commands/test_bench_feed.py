"""bench_feed at a tiny scale: the data set it builds and the table it prints, never timings."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Follow, Profile, User
from feeds.management.commands.bench_feed import PREFIX
from feeds.models import Celebrity, Fanout
from posts.models import Post

# Real commits: post_create's on_commit work and the tier changes have to run.
pytestmark = pytest.mark.django_db(transaction=True)

USERS, POSTS, CREATES = 300, 2000, 2
ARGS = [
    "--users",
    str(USERS),
    "--posts",
    str(POSTS),
    "--creates",
    str(CREATES),
    "--fanouts",
    "1",
    "--reads",
    "3",
    "--warmup",
    "1",
    "--sample",
    "10",
]
METRICS = [
    "post-create p50, 10-follower author",
    "post-create p99, 10-follower author",
    "post-create p50, celebrity",
    "post-create p99, celebrity",
    "in every follower's timeline",
    "timeline inserts/s per worker",
    "raw store add_many",
    "feed read p50",
    "feed read p99, 150 followees",
    "feed read p99 speedup vs pull-only",
    "Redis memory per user",
]


def bench(*extra):
    out = io.StringIO()
    call_command("bench_feed", *ARGS, *extra, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def bench_users():
    return User.objects.filter(username__startswith=PREFIX)


def graph_snapshot():
    return sorted(
        Follow.objects.filter(follower__in=bench_users()).values_list("follower__username", "followed__username")
    )


def test_builds_the_requested_graph_and_prints_one_table():
    output = bench("--seed", "3")

    users = bench_users()
    assert users.count() == USERS
    assert Profile.objects.filter(user__in=users).count() == USERS
    assert not any(user.has_usable_password() for user in users[:20])
    # post_create adds the measured posts: CREATES (+1 untimed) per author and mode, +1 per fan-out.
    measured = 3 * 2 * (CREATES + 1) + 2 * 2
    assert Post.objects.filter(author__in=users).count() == POSTS + measured

    # Profile counters match the Follow rows, as follow_create keeps them.
    follows = Follow.objects.filter(follower__in=users)
    for profile in Profile.objects.filter(user__in=users).select_related("user"):
        assert profile.followers_count == follows.filter(followed=profile.user).count(), profile
        assert profile.following_count == follows.filter(follower=profile.user).count(), profile
    assert f"{follows.count():,} follows" in output

    # A handful of celebrities far above the threshold; the rest stay below it.
    threshold = int(re.search(r"threshold: ([\d,]+) followers", output).group(1).replace(",", ""))
    assert threshold == USERS // 10
    celebrities = Celebrity.objects.filter(author__in=users).select_related("author__profile")
    assert 1 <= celebrities.count() <= 5
    assert all(c.author.profile.followers_count >= 2 * threshold for c in celebrities)
    below = Profile.objects.filter(user__in=users).exclude(user__celebrity__isnull=False)
    assert all(count < threshold for count in below.values_list("followers_count", flat=True))

    # The named authors: 10 followers, just under the threshold, and a reader of every celebrity.
    assert "small 10 followers" in output
    assert f"push {threshold - 1} followers" in output
    reader = User.objects.get(username=f"{PREFIX}{celebrities.count() + 2}")
    reader_follows = set(Follow.objects.filter(follower=reader).values_list("followed_id", flat=True))
    assert len(reader_follows) == USERS // 2
    assert {c.author_id for c in celebrities} <= reader_follows

    # Push fan-out wrote into every follower's timeline; the celebrity post was pulled in hybrid.
    assert Fanout.objects.filter(post__author__in=users, mode=Fanout.Mode.PUSH, status=Fanout.Status.DONE).count() == 3
    assert Fanout.objects.filter(post__author__in=users, mode=Fanout.Mode.PULL).count() == 1
    assert f"({threshold - 1} tl)" in output

    # One table: a header with the three modes and a target column, one row per metric.
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("metric"))
    assert re.match(r"metric\s+push-only\s+pull-only\s+hybrid\s+target \(hybrid\)$", lines[header])
    assert set(lines[header + 1]) <= {"-", " "}
    table = lines[header + 2 : header + 2 + 20]
    for metric in METRICS:
        assert any(line.startswith(metric) for line in table), metric
    assert any("≤ 15 ms:" in line for line in table)
    assert any("≥ 20×:" in line for line in table)
    read_sources = next(line for line in table if line.startswith("feed read source"))
    assert read_sources.split()[3:6] == ["store", "database", "store"]


def test_same_seed_same_graph_and_reset_replaces_the_data():
    bench("--seed", "5")
    first = graph_snapshot()

    with pytest.raises(CommandError, match="--reset"):
        bench("--seed", "5")

    bench("--seed", "5", "--reset")
    assert graph_snapshot() == first
    assert bench_users().count() == USERS

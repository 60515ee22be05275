"""Fan-out planning, queues, idempotency, the live event, and the timeline store contract."""

import asyncio
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from feeds import services
from feeds.models import Celebrity, Fanout, FanoutBatch
from feeds.store import Entry, MemoryStore, RedisStore, get_store, home_key
from posts import services as posts_services
from socialsite.models import OutboxMessage
from tests.conftest import require
from tests.factories import UserFactory
from tests.socialsite.realtime.sockets import bearer, nothing_arrives, open_ready, receive, run

pytestmark = pytest.mark.django_db


def idle(user, **ago):
    type(user).objects.filter(pk=user.pk).update(last_active=timezone.now() - timedelta(**ago))


def test_hot_followers_go_high_warm_low_idle_nowhere(follow, settings):
    settings.FEED_FANOUT_BATCH = 2
    author = UserFactory()
    hot, warm, idle_ones = UserFactory.create_batch(3), UserFactory.create_batch(3), UserFactory.create_batch(2)
    for user in hot + warm + idle_ones:
        follow(user, author)
    for user in warm:
        idle(user, days=2)
    for user in idle_ones:
        idle(user, days=30)
    post = posts_services.post_create(author=author, content_type="text", content="hi")  # on_commit not run
    plan = services.fanout_post(post_id=post.pk)
    by_queue = {}
    for batch in plan:
        assert len(batch.followers) <= 2 and batch.announce == (batch.queue == "fanout_high")
        by_queue.setdefault(batch.queue, set()).update(batch.followers)
    assert by_queue == {"fanout_high": {str(u.pk) for u in hot}, "fanout_low": {str(u.pk) for u in warm}}
    fanout = Fanout.objects.get(post=post)
    assert (fanout.mode, fanout.status, fanout.batches_total, fanout.batches_done) == ("push", "running", len(plan), 0)
    assert services.fanout_post(post_id=post.pk) == []  # planned once, even if the task is retried
    # Each batch's task is in the outbox, on its batch's queue, written with the plan.
    queued = OutboxMessage.objects.filter(task="feeds.tasks.push_batch").values_list("args", "queue")
    assert sorted(queued) == sorted(([str(post.pk), b.number], b.queue) for b in plan)


def test_batches_are_idempotent_and_finish_the_fanout(follow, client_for):
    author, fans = UserFactory(), UserFactory.create_batch(3)
    for fan in fans:
        follow(fan, author)
        client_for(fan).get("/api/v1/feed")  # builds their timelines
    post = posts_services.post_create(author=author, content_type="text", content="hi")
    (batch,) = services.fanout_post(post_id=post.pk)
    assert services.push_batch(post_id=post.pk, number=batch.number) == 3
    assert services.push_batch(post_id=post.pk, number=batch.number) == 0  # a redelivery: done already
    fanout = Fanout.objects.get(post=post)
    assert (fanout.status, fanout.batches_done, fanout.timelines) == ("done", 1, 3)  # the retry counts once
    assert not FanoutBatch.objects.filter(fanout=fanout).exists()  # a finished fan-out keeps no batches
    for fan in fans:
        (entries,) = get_store().range_many([home_key(fan.pk)], count=10)
        assert [e.post_id for e in entries] == [str(post.pk)]


def test_a_post_without_its_fanout_row_gets_one_and_is_planned(follow):
    author, fan = UserFactory(), UserFactory()
    follow(fan, author)
    post = posts_services.post_create(author=author, content_type="text", content="older")
    Fanout.objects.filter(post=post).delete()  # as for a post from before fan-out rows
    (batch,) = services.fanout_post(post_id=post.pk)
    assert batch.followers == [str(fan.pk)]
    fanout = Fanout.objects.get(post=post)
    assert (fanout.status, fanout.mode, fanout.batches_total) == ("running", "push", 1)
    assert services.fanout_post(post_id=post.pk) == []  # planned once


def test_a_deleted_post_is_not_fanned_out(settle):
    author = UserFactory()
    post = posts_services.post_create(author=author, content_type="text", content="oops")
    settle(posts_services.post_delete, post=post, actor=author)
    assert services.fanout_post(post_id=post.pk) == []
    assert not Fanout.objects.filter(post=post).exists()


def test_sync_all_tiers_follows_a_changed_threshold(fans, settings, settle):
    author = UserFactory()
    fans(author, 3)
    assert services.sync_all_tiers() == 0
    settings.FEED_FANOUT_THRESHOLD = 3
    assert services.sync_all_tiers() == 1
    assert Celebrity.objects.get(author=author).state == "celebrity"
    settings.FEED_FANOUT_THRESHOLD = 10
    settle(services.sync_all_tiers)  # demotes, pushes the recent posts after commit, then forgets the row
    assert not Celebrity.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_followers_with_a_socket_open_and_the_author_get_feed_new_post(threshold):
    """Pushed and celebrity posts alike; an idle open tab too; nothing for followers without a socket."""
    from channels.db import database_sync_to_async
    from channels.layers import get_channel_layer

    from accounts import services as accounts_services
    from socialsite.realtime.events import user_group

    author, star, reader, idler, away = UserFactory(), UserFactory(), UserFactory(), UserFactory(), UserFactory()
    for user in (reader, idler, away, UserFactory()):
        accounts_services.follow_create(follower=user, followed_user_id=star.pk)
    for user in (reader, idler, away):
        accounts_services.follow_create(follower=user, followed_user_id=author.pk)
    headers = {user: bearer(user) for user in (author, reader, idler)}

    async def scenario():
        sockets = {user: (await open_ready(headers[user]))[0] for user in headers}
        await database_sync_to_async(idle)(idler, hours=3)  # a tab left open, no requests lately
        layer = get_channel_layer()
        away_channel = await layer.new_channel()  # listens to the group of a user with no socket
        await layer.group_add(user_group(away.pk), away_channel)
        pushed = await database_sync_to_async(posts_services.post_create)(
            author=author, content_type="text", content="pushed"
        )
        for user in (author, reader, idler):
            frame = await receive(sockets[user])
            assert frame == {
                "event": "feed.new_post",
                "data": {
                    "post_id": str(pushed.pk),
                    "author_id": str(author.pk),
                    "created_at": pushed.created_at.isoformat(),
                },
            }
        pulled = await database_sync_to_async(posts_services.post_create)(
            author=star, content_type="text", content="pulled"
        )
        for user in (reader, idler):
            frame = await receive(sockets[user])
            assert frame["event"] == "feed.new_post" and frame["data"]["post_id"] == str(pulled.pk)
        assert await nothing_arrives(sockets[author])
        with pytest.raises(TimeoutError):  # not online: reads the feed later
            await asyncio.wait_for(layer.receive(away_channel), 0.5)
        for ws in sockets.values():
            await ws.disconnect()

    run(scenario)


# --- The store contract: the same behaviour in process and in Redis ----------------------------------


def test_the_plan_moves_an_author_whose_tier_changed(fans, settings):
    """The plan reads the tier without a lock, but an author on the wrong side of the threshold
    still goes through tier_sync: promoted (pulled), then demoting (pushed)."""
    author = UserFactory()
    fans(author, 3)
    settings.FEED_FANOUT_THRESHOLD = 3  # as if the threshold changed under a 3-follower author
    first = posts_services.post_create(author=author, content_type="text", content="one")
    services.fanout_post(post_id=first.pk)
    assert Fanout.objects.get(post=first).mode == "pull"
    assert Celebrity.objects.get(author=author).state == Celebrity.State.CELEBRITY
    settings.FEED_FANOUT_THRESHOLD = 4
    second = posts_services.post_create(author=author, content_type="text", content="two")
    services.fanout_post(post_id=second.pk)
    assert Fanout.objects.get(post=second).mode == "push"
    assert Celebrity.objects.get(author=author).state == Celebrity.State.DEMOTING
    third = posts_services.post_create(author=author, content_type="text", content="three")
    services.fanout_post(post_id=third.pk)  # demotion under way: pushed, the row left to its task
    assert Fanout.objects.get(post=third).mode == "push"
    assert Celebrity.objects.get(author=author).state == Celebrity.State.DEMOTING


def test_the_plan_reads_followers_without_a_server_side_cursor(follow):
    """PostgreSQL plans a cursor for its first rows: for the follower list that walked a whole
    index in id order, several times slower than the plain query. (SQLite has no such cursor.)"""
    author = UserFactory()
    for user in UserFactory.create_batch(3):
        follow(user, author)
    post = posts_services.post_create(author=author, content_type="text", content="hi")  # on_commit not run
    cursors = []

    def record(execute, sql, params, many, context):
        cursors.append((type(context["cursor"].cursor).__name__, sql))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        plan = services.fanout_post(post_id=post.pk)
    assert sum(len(batch.followers) for batch in plan) == 3
    follower_reads = [kind for kind, sql in cursors if "accounts_follow" in sql]
    assert follower_reads and not any("Server" in kind for kind in follower_reads), cursors


@pytest.fixture(params=["memory", "redis"])
def store(request, settings):
    if request.param == "memory":
        return MemoryStore()
    require(settings.REDIS_URL, "REDIS_URL not set: the Redis timeline store needs Redis")
    redis_store = RedisStore(settings.REDIS_URL)
    redis_store.flush()
    return redis_store


def test_store_contract(store):
    key, missing = "feed:home:test", "feed:home:missing"
    assert store.range_many([key, missing], count=5) == [None, None]
    store.replace(key, [], cap=3)
    assert store.exists(key) and store.range_many([key], count=5) == [[]]  # built, empty
    entries = [Entry(100, "a"), Entry(300, "c"), Entry(200, "b"), Entry(200, "bb")]
    assert store.add_many([key, missing], entries, cap=3) == 1  # only timelines that exist
    assert not store.exists(missing)
    (kept,) = store.range_many([key], count=10)
    assert kept == [Entry(300, "c"), Entry(200, "bb"), Entry(200, "b")]  # trimmed to the cap, ties by id
    assert store.range_many([key], before=(200, "bb"), count=10) == [[Entry(200, "b")]]
    assert store.range_many([key], after=(200, "b"), count=10) == [[Entry(300, "c"), Entry(200, "bb")]]
    store.add_many([key], [Entry(300, "c")], cap=3)  # the same entry again changes nothing
    assert store.size(key) == 3
    store.remove_many([key], ["c", "zz"])
    assert store.range_many([key], count=1) == [[Entry(200, "bb")]]
    store.remove_many([key], ["bb", "b"])
    assert not store.exists(key)  # trimming dropped the sentinel: emptied means rebuilt on the next read
    store.replace(key, [Entry(5, "x")], cap=3)
    store.remove_many([key], ["x"])
    assert store.exists(key) and store.range_many([key], count=5) == [[]]  # built, emptied, still built


def test_memory_timelines_are_rebuilt_after_max_age(monkeypatch):
    import feeds.store

    store, clock = MemoryStore(), [1000.0]
    monkeypatch.setattr(feeds.store.time, "monotonic", lambda: clock[0])
    store.replace("feed:home:x", [Entry(1, "a")], cap=5)
    clock[0] += MemoryStore.MAX_AGE - 1
    assert store.range_many(["feed:home:x"], count=5) == [[Entry(1, "a")]]
    clock[0] += 2  # another process may have posted meanwhile: read it afresh from the database
    assert store.range_many(["feed:home:x"], count=5) == [None]
    assert store.add_many(["feed:home:x"], [Entry(2, "b")], cap=5) == 0

"""The process renews what its open sockets hold, and a closed socket's clean-up is retried.

heartbeat.py: one task per process renews, for every socket last renewed a HEARTBEAT ago, the
user's presence mark, last_active, and the socket's group membership (with a short group_expiry,
a membership nobody renews stops counting). Here HEARTBEAT is a fraction of a second so that
renewals happen during the test; everything else is the real code on the configured engines
(the Redis channel layer and presence with REDIS_URL, in-process without).
"""

import asyncio
import contextlib
import logging
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer

from socialsite.realtime import consumers, heartbeat, presence
from socialsite.realtime.events import user_group
from tests.conftest import require
from tests.factories import UserFactory
from tests.socialsite.realtime.sockets import bearer, open_ready, run

pytestmark = pytest.mark.django_db(transaction=True)

BEAT = 0.3  # seconds: presence.HEARTBEAT for these tests


@pytest.fixture
def quick_beat(monkeypatch):
    monkeypatch.setattr(presence, "HEARTBEAT", BEAT)
    monkeypatch.setattr(heartbeat, "TICK", 0.05)


def online_until(user_id):
    marks = presence._marks()
    if isinstance(marks, presence._MemoryMarks):
        return marks._until.get(str(user_id))
    return marks.client.zscore(marks.KEY, str(user_id))


async def memberships(group):
    """{channel: renewed-at (Redis) or expires-at (in-memory)} of the group."""
    layer = get_channel_layer()
    if isinstance(layer, RedisChannelLayer):
        members = await layer.connection(layer.consistent_hash(group)).zrange(
            layer._group_key(group), 0, -1, withscores=True
        )
        return {name.decode(): score for name, score in members}
    return dict(layer.groups.get(group, {}))


def test_an_open_socket_is_kept_online_active_and_subscribed(quick_beat):
    user = UserFactory(last_active=None)
    headers = bearer(user)
    group = user_group(user.pk)

    async def scenario():
        ws, _ = await open_ready(headers)
        first_mark, first = online_until(user.pk), await memberships(group)
        await asyncio.sleep(4 * BEAT)
        later_mark, later = online_until(user.pk), await memberships(group)
        user_row = await database_sync_to_async(type(user).objects.get)(pk=user.pk)
        await ws.disconnect()
        await asyncio.sleep(0.2)  # the clean-up runs in a task of its own
        return first_mark, first, later_mark, later, user_row.last_active, await memberships(group)

    first_mark, first, later_mark, later, last_active, left = run(scenario)
    assert first_mark is not None and later_mark > first_mark  # marked at connect, renewed since
    assert len(first) == 1 and list(later) == list(first)  # the one socket's membership...
    assert later[next(iter(later))] > first[next(iter(first))]  # ...renewed
    assert last_active is not None  # recorded by the process's round, not at connect
    assert left == {}  # and gone when the socket closed


def test_after_the_socket_closes_nothing_is_renewed(quick_beat):
    user = UserFactory()
    headers = bearer(user)

    async def scenario():
        ws, _ = await open_ready(headers)
        await ws.disconnect()
        await asyncio.sleep(0.2)
        mark = online_until(user.pk)
        await asyncio.sleep(4 * BEAT)
        return mark, online_until(user.pk), await memberships(user_group(user.pk))

    closed_mark, later_mark, left = run(scenario)
    assert later_mark == closed_mark  # no renewal for a closed socket: the mark runs out
    assert left == {}


def test_a_failing_disconnect_hook_is_retried_until_it_works(caplog):
    user = UserFactory()
    headers = bearer(user)
    calls = []

    async def flaky(consumer):  # fails twice (a Redis hiccup, say), then works
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise ConnectionError("try again")

    async def scenario():
        ws, _ = await open_ready(headers)
        await ws.send_json_to({"action": "ping", "data": {}})
        await ws.receive_json_from()
        await ws.disconnect(timeout=10)
        for _ in range(100):  # the process's cleaner runs it: retried, so it takes over a second
            if len(calls) >= 3 and not await memberships(user_group(user.pk)):
                break
            await asyncio.sleep(0.05)
        return await memberships(user_group(user.pk))

    consumers.DISCONNECT_HOOKS.insert(0, flaky)
    try:
        with caplog.at_level(logging.WARNING, logger="socialsite.realtime.heartbeat"):
            left = run(scenario)
    finally:
        consumers.DISCONNECT_HOOKS.remove(flaky)
    assert len(calls) == 3
    assert calls[1] - calls[0] >= heartbeat.RETRY_PAUSES[0] * 0.9  # with a pause in between
    assert left == {}
    retries = [r for r in caplog.records if "disconnect hook flaky failed" in r.getMessage()]
    assert [r.levelname for r in retries] == ["WARNING", "WARNING"]  # retried, never given up


def test_a_consumer_that_crashes_still_leaves_its_group():
    """A handler that raises ends the consumer before any websocket.disconnect: it leaves all the same,
    or the process would renew a membership for a dead socket for as long as it runs."""
    user = UserFactory()
    headers = bearer(user)

    async def scenario():
        ws, _ = await open_ready(headers)
        joined = await memberships(user_group(user.pk))
        await get_channel_layer().group_send(user_group(user.pk), {"type": "no.such.handler"})
        with contextlib.suppress(ValueError):  # the consumer's own error, re-raised by the communicator
            await ws.wait(3)
        for _ in range(40):
            if not await memberships(user_group(user.pk)):
                break
            await asyncio.sleep(0.05)
        return joined, await memberships(user_group(user.pk)), heartbeat._current().entries

    joined, left, renewing = run(scenario)
    assert len(joined) == 1
    assert left == {}
    assert not [channel for channel in renewing if channel in joined]


def test_a_membership_nobody_renews_expires(settings):
    """A socket whose process died keeps no membership for long: group_expiry, renewed only by a
    live process's heartbeat, bounds how long events go to a queue nobody reads."""
    require(isinstance(get_channel_layer(), RedisChannelLayer), "REDIS_URL not set: about the Redis layer")
    layer = dict(settings.CHANNEL_LAYERS["default"])
    settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {**layer["CONFIG"], "group_expiry": 1}}}

    async def scenario():
        layer = get_channel_layer()
        dead = "specific.deadprocess!socket"  # a channel no process of this test reads or renews
        await layer.group_add("expiry-test", dead)
        before = await memberships("expiry-test")
        await asyncio.sleep(1.5)
        await layer.group_send("expiry-test", {"type": "event.push", "event": "t", "data": {}})
        return before, await memberships("expiry-test")

    before, after = run(scenario)
    assert list(before) == ["specific.deadprocess!socket"]
    assert after == {}

"""No silent loss on sockets (issue 15): a full channel-layer queue drops an event, and the socket
is told (`session.resync`) instead of missing it without a word; the drop is a WARNING and counted.
Notifications resume on the socket, as SSE's Last-Event-ID does (`notifications.resume`).

Each test runs on the layer this process is configured with: channels_redis (REDIS_URL) or the
in-memory layer of the embedded default; the Redis-only paths say so.
"""

import asyncio
import json
import logging
import os
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import ApplicationCommunicator
from django.conf import settings as django_settings
from django.utils import timezone

from notifications import consumers as notification_consumers
from posts import services as posts_services
from socialsite.asgi import application
from socialsite.realtime import layers
from socialsite.realtime.events import _sender_loop, send_event_now_unsafe, user_group
from tests.conftest import require
from tests.factories import UserFactory
from tests.posts.factories import PostFactory
from tests.socialsite.realtime.sockets import _encode, bearer, nothing_arrives, open_ready, receive, run, send_frame

pytestmark = pytest.mark.django_db(transaction=True)

CAPACITY = 5
REDIS = bool(os.environ.get("REDIS_URL"))


@pytest.fixture
def small_queues(settings):
    """Queues of CAPACITY events (a fresh layer per test is made from these settings)."""
    layer = dict(django_settings.CHANNEL_LAYERS["default"])
    config = dict(layer.get("CONFIG", {}), capacity=CAPACITY)
    if REDIS:
        config["channel_capacity"] = {"specific.*": CAPACITY}
    settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": config}}


def require_redis():
    require(REDIS, "REDIS_URL not set: this is about the Redis channel layer")


def drops():
    return layers.DROPS["total"]


def event(n):
    return {"type": "event.push", "event": "test.n", "data": {"n": n}}


async def burst(user, count):
    """`count` events to the user's sockets faster than their consumer can take them.

    Redis: sent from the sender loop's thread while this loop (the socket's) is blocked, as a
    stalled process would be. In memory: sent without yielding to the loop the consumer runs on.
    """
    if REDIS:
        for n in range(count):
            send_event_now_unsafe([str(user.pk)], "test.n", {"n": n})
        _sender_loop().drain()  # blocks this loop on purpose
    else:
        layer = get_channel_layer()
        for n in range(count):
            await layer.group_send(user_group(user.pk), event(n))


async def frames_until_quiet(ws):
    frames = []
    while not await nothing_arrives(ws, 0.5):
        frames.append(await receive(ws))
    return frames


def test_a_full_socket_queue_tells_the_socket_to_resync_once(small_queues, caplog):
    ana = UserFactory()
    before = drops()

    async def scenario():
        ws, _ = await open_ready(bearer(ana))
        with caplog.at_level(logging.WARNING, logger="socialsite.realtime.layers"):
            await burst(ana, 30)
            frames = await frames_until_quiet(ws)
        await ws.disconnect()
        return frames

    frames = run(scenario)
    got = [frame["data"]["n"] for frame in frames if frame["event"] == "test.n"]
    resyncs = [frame for frame in frames if frame["event"] != "test.n"]
    assert resyncs == [{"event": "session.resync", "data": {"reason": "overflow"}}]
    assert got == sorted(set(got)) and len(got) < 30  # in order, each once; some were dropped
    assert drops() - before == 30 - len(got)  # every lost delivery counted
    assert any(record.levelno == logging.WARNING for record in caplog.records)


def test_a_dropped_event_for_a_group_leaves_one_marker_in_redis(small_queues):
    """Redis, nobody reading the channel: CAPACITY events queue, the rest leave one marker (the same
    bytes, first in line), and a later overflow leaves a new one once that one was read."""
    require_redis()

    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("gaps-test", channel)
        for n in range(20):
            await layer.group_send_many(["gaps-test"], event(n))
        received = [await asyncio.wait_for(layer.receive(channel), 3) for _ in range(CAPACITY + 1)]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), 0.5)
        for n in range(20, 20 + CAPACITY + 3):
            await layer.group_send_many(["gaps-test"], event(n))
        again = [await asyncio.wait_for(layer.receive(channel), 3) for _ in range(CAPACITY + 1)]
        await layer.group_discard("gaps-test", channel)
        await layer.flush()
        return received, again

    received, again = run(scenario)
    assert received[0] == layers.gap_marker()  # first in line: the client resyncs now
    assert [m["data"]["n"] for m in received[1:]] == [0, 1, 2, 3, 4]
    assert again[0] == layers.gap_marker()
    assert [m["data"]["n"] for m in again[1:]] == [20, 21, 22, 23, 24]


def test_a_socket_that_falls_behind_its_process_reader_gets_the_marker_first(small_queues):
    """Redis: the process's reader fills each socket's in-memory buffer; a consumer that doesn't
    take them loses the oldest (as channels_redis does), and is told, ahead of what is left."""
    require_redis()

    async def scenario():
        layer = get_channel_layer()
        reading, stuck = await layer.new_channel(), await layer.new_channel()
        for channel in (reading, stuck):
            await layer.group_add("gaps-buffer", channel)
        for n in range(12):  # under the process queue's capacity: all reach this process
            await layer.group_send_many(["gaps-buffer"], event(n))
            await layer.receive(reading)  # the reader also buffers each one for `stuck`
        late = [await asyncio.wait_for(layer.receive(stuck), 3) for _ in range(CAPACITY + 1)]
        for channel in (reading, stuck):
            await layer.group_discard("gaps-buffer", channel)
        await layer.flush()
        return late

    before = drops()
    late = run(scenario)
    assert late[0] == layers.gap_marker()
    assert [m["data"]["n"] for m in late[1:]] == [7, 8, 9, 10, 11]
    assert drops() - before == 12 - CAPACITY


def test_events_that_waited_too_long_leave_a_marker_for_every_socket_of_the_process():
    """Redis: an event older than `expiry` is removed at the next send, as channels_redis does; it
    may have been for any socket of that process, so each of them is told (once per `expiry`)."""
    require_redis()

    async def scenario():
        layer = get_channel_layer()
        ana, bo = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("gaps-ana", ana)
        await layer.group_add("gaps-bo", bo)
        key = layer.prefix + layer.non_local_name(ana)
        connection = layer.connection(layer.consistent_hash(ana))
        await connection.zadd(key, {layer.serialize({**event(0), "__asgi_channel__": [bo]}): 1})  # from 1970
        await layer.group_send_many(["gaps-ana"], event(1))
        got = {
            "ana": [await asyncio.wait_for(layer.receive(ana), 3) for _ in range(2)],
            "bo": [await asyncio.wait_for(layer.receive(bo), 3)],
        }
        # Another one expires: it was sent before that marker, so what they fetched holds it.
        await connection.zadd(key, {layer.serialize({**event(0), "__asgi_channel__": [bo]}): 2})
        await layer.group_send_many(["gaps-ana"], event(2))
        got["ana"].append(await asyncio.wait_for(layer.receive(ana), 3))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(bo), 0.5)
        await layer.group_discard("gaps-ana", ana)
        await layer.group_discard("gaps-bo", bo)
        await layer.flush()
        return got

    before = layers.DROPS["redis_expired"]
    got = run(scenario)
    assert got["ana"] == [layers.gap_marker("expired"), event(1), event(2)]
    assert got["bo"] == [layers.gap_marker("expired")]
    assert layers.DROPS["redis_expired"] - before == 2


def memory_layer(settings, **config):
    """The embedded default's layer, whichever this run is configured with."""
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "socialsite.realtime.layers.InMemoryChannelLayer", "CONFIG": config}
    }


def test_an_expired_event_in_memory_leaves_a_marker_and_the_socket_in_its_group(settings):
    memory_layer(settings, expiry=1)

    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("gaps-stale", channel)
        await layer.group_send("gaps-stale", event(0))
        await asyncio.sleep(1.2)
        await layer.group_send("gaps-stale", event(1))  # channels' own layer left the group here
        return [await asyncio.wait_for(layer.receive(channel), 1) for _ in range(2)]

    assert run(scenario) == [layers.gap_marker(), event(1)]


def test_the_in_memory_layer_no_longer_swallows_a_full_channel(settings):
    memory_layer(settings, capacity=CAPACITY)
    before = drops()

    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("gaps-memory", channel)
        for n in range(12):
            await layer.group_send("gaps-memory", event(n))
        return [await asyncio.wait_for(layer.receive(channel), 1) for _ in range(CAPACITY + 1)]

    got = run(scenario)
    assert got[0] == layers.gap_marker()
    assert [m["data"]["n"] for m in got[1:]] == [0, 1, 2, 3, 4]
    assert drops() - before == 12 - CAPACITY


# --- notifications.resume ---------------------------------------------------------------------------


def likes(author, count):
    """`count` like notifications for `author`, oldest first: their ids."""
    from notifications.models import Notification

    for _ in range(count):
        posts_services.like_create(user=UserFactory(), post_id=PostFactory(author=author).pk)
    return [str(pk) for pk in Notification.objects.filter(recipient=author).order_by("id").values_list("pk", flat=True)]


def test_notifications_resume_replays_what_came_after_the_last_one_held():
    ana = UserFactory()
    ids = likes(ana, 3)

    async def scenario():
        ws, _ = await open_ready(bearer(ana))
        await send_frame(ws, {"action": "notifications.resume", "data": {"after": None}, "ref": 1})
        first = await receive(ws)
        await send_frame(ws, {"action": "notifications.resume", "data": {"after": ids[0]}, "ref": 2})
        replayed = [await receive(ws) for _ in range(3)]
        await send_frame(ws, {"action": "notifications.resume", "data": {"after": "nope"}, "ref": 3})
        bad = await receive(ws)
        await ws.disconnect()
        return first, replayed, bad

    first, replayed, bad = run(scenario)
    assert first == {
        "event": "notifications.resumed",
        "data": {"last_id": ids[-1], "count": 0, "more": False, "unread_count": 3},
        "ref": 1,
    }
    assert [frame["event"] for frame in replayed[:2]] == ["notification.new", "notification.new"]
    assert [frame["data"]["id"] for frame in replayed[:2]] == ids[1:]  # oldest first
    assert replayed[0]["data"]["type"] == "like"
    assert replayed[2] == {
        "event": "notifications.resumed",
        "data": {"last_id": ids[-1], "count": 2, "more": False, "unread_count": 3},
        "ref": 2,
    }
    assert bad["event"] == "error" and bad["data"]["code"] == "invalid" and bad["data"]["ref"] == 3


def test_notifications_resume_pages_with_more(monkeypatch):
    monkeypatch.setattr(notification_consumers, "RESUME_LIMIT", 2)
    ana = UserFactory()
    ids = likes(ana, 4)

    async def scenario():
        ws, _ = await open_ready(bearer(ana))
        await send_frame(ws, {"action": "notifications.resume", "data": {"after": ids[0]}})
        page = [await receive(ws) for _ in range(3)]
        await send_frame(ws, {"action": "notifications.resume", "data": {"after": page[-1]["data"]["last_id"]}})
        rest = [await receive(ws) for _ in range(2)]
        await ws.disconnect()
        return page, rest

    page, rest = run(scenario)
    assert [frame["data"]["id"] for frame in page[:2]] == ids[1:3]
    assert page[2]["data"] | {"unread_count": None} == {
        "last_id": ids[2],
        "count": 2,
        "more": True,
        "unread_count": None,
    }
    assert rest[0]["data"]["id"] == ids[3]
    assert rest[1]["data"]["more"] is False and rest[1]["data"]["last_id"] == ids[3]


# --- SSE and long-poll ------------------------------------------------------------------------------


def unseen_notification(recipient):
    """A notification row made without its event (as if the event had been dropped): its id."""
    from notifications.models import Notification

    actor = UserFactory()
    row = Notification.objects.create(
        recipient=recipient,
        actor=actor,
        type="follow",
        key=f"gap:{actor.pk}",
        group_key=f"gap:{actor.pk}",
        created_at=timezone.now(),
    )
    return str(row.pk)


async def http_get(path, query, headers):
    """An ASGI HTTP GET on socialsite.asgi.application, running in this loop: its communicator."""
    scope = {
        **{"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http"},
        **{"path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": ""},
        "headers": [(b"host", b"testserver"), *_encode(headers)],
        **{"client": ("127.0.0.1", 50000), "server": ("testserver", 80)},
    }
    http = ApplicationCommunicator(application, scope)
    await http.send_input({"type": "http.request", "body": b"", "more_body": False})
    return http


async def overflow(user):
    """More events than the listener's queue holds, without yielding: it loses some."""
    layer = get_channel_layer()
    for n in range(2 * CAPACITY):
        await layer.group_send(user_group(user.pk), event(n))


def test_an_sse_stream_sends_what_a_drop_hid_then_session_resync(settings):
    memory_layer(settings, capacity=CAPACITY)
    ana = UserFactory()

    async def scenario():
        sse = await http_get("/api/v1/notifications/stream", "", bearer(ana))
        assert (await sse.receive_output(5))["status"] == 200
        chunks = [(await sse.receive_output(5))["body"].decode()]  # "retry: 3000": listening
        hidden = await database_sync_to_async(unseen_notification)(ana)
        await overflow(ana)
        while "session.resync" not in chunks[-1]:
            chunks.append((await sse.receive_output(5))["body"].decode())
        await sse.send_input({"type": "http.disconnect"})
        return hidden, chunks

    hidden, chunks = run(scenario)
    assert chunks[0] == "retry: 3000\n\n"
    assert chunks[1].startswith(f"id: {hidden}\nevent: notification.new\ndata: "), chunks
    assert chunks[2] == 'event: session.resync\ndata: {"reason":"overflow"}\n\n'


def test_a_long_poll_answers_with_what_a_drop_hid(settings):
    memory_layer(settings, capacity=CAPACITY)
    ana = UserFactory()
    since = unseen_notification(ana)

    async def scenario():
        poll = await http_get("/api/v1/notifications/poll", f"since={since}&timeout=10", bearer(ana))
        await asyncio.sleep(0.2)  # the poll found nothing and waits
        hidden = await database_sync_to_async(unseen_notification)(ana)
        began = time.monotonic()
        await overflow(ana)
        start = await poll.receive_output(5)
        body = await poll.receive_output(5)
        return start, hidden, json.loads(body["body"]), time.monotonic() - began

    start, hidden, answer, waited = run(scenario)
    assert start["status"] == 200
    assert [row["id"] for row in answer["results"]] == [hidden] and answer["since"] == hidden
    assert waited < 5  # at the drop, not at the timeout


def test_notifications_resume_is_rate_limited(settings):
    settings.THROTTLE_API = "2/1m"
    ana = UserFactory()

    async def scenario():
        ws, _ = await open_ready(bearer(ana))
        replies = []
        for ref in range(3):
            await send_frame(ws, {"action": "notifications.resume", "data": {"after": None}, "ref": ref})
            replies.append(await receive(ws))
        await ws.disconnect()
        return replies

    replies = run(scenario)
    assert [reply["event"] for reply in replies] == ["notifications.resumed", "notifications.resumed", "error"]
    assert replies[2]["data"]["code"] == "throttled" and replies[2]["data"]["retry_after"] >= 1

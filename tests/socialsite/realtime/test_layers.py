"""The Redis layer's group_send_many (one event to many users' sockets, each socket exactly once)
and the sender loop that sync code sends through."""

import asyncio
import os
import sys

import pytest
from channels.layers import get_channel_layer
from django.conf import settings

from socialsite.realtime.events import send_event_now_unsafe
from tests.conftest import require
from tests.factories import UserFactory
from tests.socialsite.realtime.sockets import bearer, nothing_arrives, open_ready, receive, run

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_event_reaches_every_socket_of_every_named_user_once():
    require(bool(os.environ.get("REDIS_URL")), "REDIS_URL not set: group_send_many is the Redis layer's")
    assert hasattr(get_channel_layer(), "group_send_many")
    ana, bo, cy, outsider = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    headers = {user: bearer(user) for user in (ana, bo, cy, outsider)}
    offline = [str(UserFactory().pk) for _ in range(30)]  # named, but with no socket

    async def scenario():
        sockets = {user: [(await open_ready(headers[user]))[0]] for user in headers}
        sockets[ana].append((await open_ready(headers[ana]))[0])  # a second device
        from channels.db import database_sync_to_async

        recipients = [str(ana.pk), str(bo.pk), str(cy.pk), *offline]
        await database_sync_to_async(send_event_now_unsafe)(recipients, "test.ping", {"n": 1})
        for user in (ana, bo, cy):
            for ws in sockets[user]:
                assert await receive(ws) == {"event": "test.ping", "data": {"n": 1}}
                assert await nothing_arrives(ws, 0.3)  # once
        assert await nothing_arrives(sockets[outsider][0], 0.3)
        for socket_list in sockets.values():
            for ws in socket_list:
                await ws.disconnect()

    run(scenario)


def test_expired_messages_do_not_fill_a_channel():
    """A channel whose queue is full of expired messages still gets the new one (the script drops them,
    and queues a gap marker first: socialsite/realtime/layers.py)."""
    require(bool(os.environ.get("REDIS_URL")), "REDIS_URL not set: group_send_many is the Redis layer's")

    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("user.expired-test", channel)
        key = layer.prefix + layer.non_local_name(channel)
        connection = layer.connection(layer.consistent_hash(channel))
        stale = {f"stale-{n}".encode(): 1 for n in range(layer.get_capacity(channel))}  # score 1: 1970
        await connection.zadd(key, stale)
        await layer.group_send_many(["user.expired-test"], {"type": "event.push", "event": "fresh", "data": {}})
        marker = await asyncio.wait_for(layer.receive(channel), 3)  # the socket is told they were dropped
        received = await asyncio.wait_for(layer.receive(channel), 3)
        assert marker == {"type": "session.gap", "reason": "expired"}
        assert received["event"] == "fresh"
        await layer.group_discard("user.expired-test", channel)
        await connection.delete(key)

    run(scenario)


def test_events_from_sync_code_arrive_in_the_order_they_were_sent():
    require(bool(os.environ.get("REDIS_URL")), "REDIS_URL not set: this is about the Redis sender loop")
    ana = UserFactory()

    async def scenario():
        ws, _ = await open_ready(bearer(ana))
        from channels.db import database_sync_to_async

        def send_many():
            for n in range(40):
                send_event_now_unsafe([str(ana.pk)], "test.count", {"n": n})

        await database_sync_to_async(send_many)()  # returns before Redis has them all
        assert [(await receive(ws))["data"]["n"] for _ in range(40)] == list(range(40))
        await ws.disconnect()

    run(scenario)


def test_events_queued_at_exit_still_go_out():
    """A short-lived process (a management command, a script) exits right after a send: the
    sender loop drains at exit, so the event isn't lost with the process."""
    require(bool(os.environ.get("REDIS_URL")), "REDIS_URL not set: this is about the Redis sender loop")
    ana = UserFactory()
    script = (
        "import django; django.setup()\n"
        "from socialsite.realtime.events import send_event_now_unsafe\n"
        f"send_event_now_unsafe([{str(ana.pk)!r}], 'test.bye', {{'n': 1}})\n"
    )

    async def scenario():
        ws, _ = await open_ready(bearer(ana))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            script,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "socialsite.settings"},
            cwd=settings.BASE_DIR,
        )
        assert await process.wait() == 0
        assert await receive(ws) == {"event": "test.bye", "data": {"n": 1}}
        await ws.disconnect()

    run(scenario)

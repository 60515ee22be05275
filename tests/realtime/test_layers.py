"""group_send_many on the Redis layer: one event to many users' sockets, each socket exactly once."""

import os

import pytest
from channels.layers import get_channel_layer

from socialsite.realtime.events import send_event_now_unsafe
from tests.conftest import require
from tests.factories import UserFactory
from tests.realtime.sockets import bearer, nothing_arrives, open_ready, receive, run

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

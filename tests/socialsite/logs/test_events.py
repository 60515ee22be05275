"""Socket events sent after a write carry the id of the request (or socket frame) that wrote."""

import re

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from rest_framework.test import APIClient

from messaging import services
from tests.factories import UserFactory
from tests.socialsite.realtime import sockets
from tests.socialsite.realtime.sockets import bearer, open_ready, run

pytestmark = pytest.mark.django_db(transaction=True)

GENERATED = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


async def next_event(ws, name):
    while (frame := await sockets.receive(ws))["event"] != name:
        pass
    return frame


def test_an_event_from_a_requests_write_carries_its_request_id():
    alice, bob = UserFactory(), UserFactory()
    bob_headers = bearer(bob)
    alice_auth = {"HTTP_AUTHORIZATION": bearer(alice)["authorization"]}

    async def scenario():
        bob_ws, _ = await open_ready(bob_headers)

        def follow():
            try:
                client = APIClient()
                return client.post(
                    f"/api/v1/users/{alice.pk}/follows",
                    {"followed_user_id": str(bob.pk)},
                    format="json",
                    HTTP_X_REQUEST_ID="req-event-1",
                    **alice_auth,
                )
            finally:
                connection.close()

        response = await sync_to_async(follow, thread_sensitive=False)()
        assert response.status_code == 201, response.content
        frame = await next_event(bob_ws, "follow.new")
        assert frame["request_id"] == "req-event-1"
        assert frame["data"]["user"]["id"] == str(alice.pk)
        await bob_ws.disconnect()

    run(scenario)


def test_an_event_from_a_socket_actions_write_carries_the_frames_request_id():
    alice, bob = UserFactory(), UserFactory()
    alice_headers, bob_headers = bearer(alice), bearer(bob)

    async def scenario():
        alice_ws, _ = await open_ready(alice_headers)
        bob_ws, _ = await open_ready(bob_headers)
        membership = await sync_to_async(services.conversation_direct, thread_sensitive=False)(
            user=alice, other_user_id=bob.pk
        )
        await alice_ws.send_json_to(
            {"action": "message.send", "data": {"conversation_id": str(membership.conversation_id), "content": "hi"}}
        )
        sent = await next_event(alice_ws, "message.sent")
        assert "request_id" not in sent  # the reply to the action itself
        arrived = await next_event(bob_ws, "message.new")
        assert GENERATED.fullmatch(arrived["request_id"]), arrived  # one per frame, made by the consumer
        for ws in (alice_ws, bob_ws):
            await ws.disconnect()

    run(scenario)

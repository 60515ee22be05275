"""Server → client events from services: delivered after commit, to the recipients only."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async
from django.db import connection, transaction

from accounts import services
from accounts.models import Follow, FollowRequest
from socialsite.realtime.consumers import CLOSE_UNAUTHENTICATED
from tests.factories import UserFactory
from tests.socialsite.realtime import sockets
from tests.socialsite.realtime.sockets import TIMEOUT, bearer, expect_close, open_ready, run

pytestmark = pytest.mark.django_db(transaction=True)

# Longer than channels_redis's 5 s blocking receive, so a layer that cannot idle shows up.
IDLE_SECONDS = 6.5


# These tests are about the accounts events; the notification.* frames the same actions bring
# (tests/notifications) are passed over here.


def _notification(frame):
    return frame["event"].startswith("notification.")


async def receive(ws):
    while _notification(frame := await sockets.receive(ws)):
        pass
    return frame


async def nothing_arrives(ws, seconds=0.5):
    """Nothing but notification.* frames within `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        if await sockets.nothing_arrives(ws, left):
            return True
        if not _notification(await sockets.receive(ws)):
            return False
    return True


def summary(user):
    return {"id": str(user.pk), "username": user.username, "display_name": user.profile.name}


def test_committed_follow_reaches_the_followed_users_socket_after_commit():
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    bob_headers, alice_headers, carol_headers = bearer(bob), bearer(alice), bearer(carol)

    async def scenario():
        bob_ws, _ = await open_ready(bob_headers)
        alice_ws, _ = await open_ready(alice_headers)
        carol_ws, _ = await open_ready(carol_headers)

        def follow():
            try:
                with transaction.atomic():
                    services.follow_create(follower=alice, followed_user_id=bob.pk)
                    # Written, not committed: nothing may reach the socket yet.
                    assert async_to_sync(nothing_arrives)(bob_ws, 0.5)
            finally:
                connection.close()

        # In a thread (and connection) of its own: the consumer needs the test's main thread
        # free to forward an event, so a premature send would show up while we watch.
        await sync_to_async(follow, thread_sensitive=False)()
        assert await receive(bob_ws) == {"event": "follow.new", "data": {"user": summary(alice)}}
        assert await nothing_arrives(alice_ws)
        assert await nothing_arrives(carol_ws)
        for ws in (bob_ws, alice_ws, carol_ws):
            await ws.disconnect()

    run(scenario)


def test_every_open_socket_of_the_recipient_gets_the_event():
    alice, bob = UserFactory(), UserFactory()
    headers = bearer(bob)

    async def scenario():
        phone, _ = await open_ready(headers)
        laptop, _ = await open_ready(headers)
        await database_sync_to_async(services.follow_create)(follower=alice, followed_user_id=bob.pk)
        for ws in (phone, laptop):
            assert (await receive(ws))["event"] == "follow.new"
            await ws.disconnect()

    run(scenario)


def test_rolled_back_follow_sends_nothing():
    alice, bob = UserFactory(), UserFactory()
    headers = bearer(bob)

    class Abort(Exception):
        pass

    def follow_then_fail():
        with pytest.raises(Abort), transaction.atomic():
            services.follow_create(follower=alice, followed_user_id=bob.pk)
            raise Abort

    async def scenario():
        ws, _ = await open_ready(headers)
        await database_sync_to_async(follow_then_fail)()
        assert await nothing_arrives(ws, 0.8)
        assert not await database_sync_to_async(Follow.objects.filter(follower=alice, followed=bob).exists)()
        # The socket is fine; it was just told nothing.
        await ws.send_json_to({"action": "ping", "data": {"ts": 1}})
        assert (await receive(ws))["event"] == "pong"
        await ws.disconnect()

    run(scenario)


def test_repeated_follow_sends_no_second_event():
    alice, bob = UserFactory(), UserFactory()
    headers = bearer(bob)

    async def scenario():
        ws, _ = await open_ready(headers)
        follow = database_sync_to_async(services.follow_create)
        await follow(follower=alice, followed_user_id=bob.pk)
        assert (await receive(ws))["event"] == "follow.new"
        outcome = await follow(follower=alice, followed_user_id=bob.pk)
        assert outcome.created is False
        assert await nothing_arrives(ws)
        await ws.disconnect()

    run(scenario)


def test_private_account_gets_follow_request_and_requester_gets_nothing():
    alice, bob = UserFactory(), UserFactory(private=True)
    alice_headers, bob_headers = bearer(alice), bearer(bob)

    async def scenario():
        alice_ws, _ = await open_ready(alice_headers)
        bob_ws, _ = await open_ready(bob_headers)
        await database_sync_to_async(services.follow_create)(follower=alice, followed_user_id=bob.pk)
        assert await receive(bob_ws) == {"event": "follow_request.new", "data": {"user": summary(alice)}}
        assert await nothing_arrives(alice_ws)
        for ws in (alice_ws, bob_ws):
            await ws.disconnect()

    run(scenario)


def test_going_public_accepts_pending_requests_and_tells_the_requester():
    alice, bob = UserFactory(), UserFactory(private=True)
    alice_headers = bearer(alice)
    services.follow_create(follower=alice, followed_user_id=bob.pk)

    async def scenario():
        alice_ws, _ = await open_ready(alice_headers)
        await database_sync_to_async(services.profile_update)(user=bob, is_private=False)
        assert await receive(alice_ws) == {"event": "follow.accepted", "data": {"user": summary(bob)}}
        await alice_ws.disconnect()

    run(scenario)


def test_approving_a_request_tells_the_requester():
    alice, bob = UserFactory(), UserFactory(private=True)
    alice_headers, bob_headers = bearer(alice), bearer(bob)
    services.follow_create(follower=alice, followed_user_id=bob.pk)
    request = FollowRequest.objects.get(requester=alice, target=bob)

    async def scenario():
        alice_ws, _ = await open_ready(alice_headers)
        bob_ws, _ = await open_ready(bob_headers)
        try:
            await database_sync_to_async(services.follow_request_approve)(target=bob, request_id=request.pk)
            assert await receive(alice_ws) == {"event": "follow.accepted", "data": {"user": summary(bob)}}
            assert await nothing_arrives(bob_ws)
        finally:
            for ws in (alice_ws, bob_ws):
                await ws.disconnect()

    run(scenario)


def test_idle_socket_stays_up_and_keeps_receiving():
    alice, bob = UserFactory(), UserFactory()
    headers = bearer(bob)

    async def scenario():
        ws, _ = await open_ready(headers)
        try:
            await asyncio.sleep(IDLE_SECONDS)
            await ws.send_json_to({"action": "ping", "data": {"ts": 1}})
            assert await receive(ws) == {"event": "pong", "data": {"ts": 1}}
            await database_sync_to_async(services.follow_create)(follower=alice, followed_user_id=bob.pk)
            assert (await receive(ws))["event"] == "follow.new"
        finally:
            await ws.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_closed_socket_no_longer_receives_and_sending_does_not_fail():
    alice, bob = UserFactory(), UserFactory()
    headers = bearer(bob)

    async def scenario():
        ws, _ = await open_ready(headers)
        await ws.disconnect()
        outcome = await database_sync_to_async(services.follow_create)(follower=alice, followed_user_id=bob.pk)
        assert outcome.created

    run(scenario)


def test_deactivation_closes_the_accounts_open_sockets():
    alice, bob = UserFactory(), UserFactory()
    alice_headers, bob_headers = bearer(alice), bearer(bob)

    async def scenario():
        alice_ws, _ = await open_ready(alice_headers)
        bob_ws, _ = await open_ready(bob_headers)
        try:
            await database_sync_to_async(services.user_deactivate)(user=alice)
            await expect_close(alice_ws, CLOSE_UNAUTHENTICATED)
            await bob_ws.send_json_to({"action": "ping", "data": {}})
            assert (await receive(bob_ws))["event"] == "pong"  # others keep their sockets
        finally:
            await bob_ws.disconnect()

    run(scenario)

"""Over /ws/: notification.new as soon as a notification is made, read and deleted events that
keep badges in step, and conversation.view muting message notifications while one looks."""

import pytest
from channels.db import database_sync_to_async

from messaging import services as messaging_services
from messaging import viewing
from notifications import services
from posts import services as posts_services
from tests.factories import UserFactory
from tests.posts.factories import PostFactory
from tests.socialsite.realtime.sockets import bearer, nothing_arrives, open_ready, receive, run, send_frame

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def act(function, **kwargs):
    return function(**kwargs)


def test_new_read_and_deleted_reach_the_recipients_sockets():
    ana, bo = UserFactory(), UserFactory()
    post = PostFactory(author=ana)

    async def scenario():
        phone, _ = await open_ready(bearer(ana))
        laptop, _ = await open_ready(bearer(ana))
        bo_ws, _ = await open_ready(bearer(bo))
        await act(posts_services.like_create, user=bo, post_id=post.pk)
        for ws in (phone, laptop):
            frame = await receive(ws)
            assert frame["event"] == "notification.new", frame
            assert frame["data"]["type"] == "like" and frame["data"]["post_id"] == str(post.pk)
        notification_id = frame["data"]["id"]
        assert await nothing_arrives(bo_ws)  # the actor hears nothing
        await act(services.mark_read, user=ana, notification_id=notification_id)
        for ws in (phone, laptop):  # the other device's badge follows
            assert await receive(ws) == {
                "event": "notification.read",
                "data": {"ids": [notification_id], "unread_count": 0},
            }
        await act(posts_services.like_delete, user=bo, post_id=post.pk)
        assert await receive(phone) == {
            "event": "notification.deleted",
            "data": {"id": notification_id, "unread_count": 0},
        }
        for ws in (phone, laptop, bo_ws):
            await ws.disconnect()

    run(scenario)


def test_looking_at_a_conversation_silences_its_message_notifications(settings):
    settings.NOTIFICATION_MESSAGE_SECONDS = 0  # each message on its own
    ana, bo, stranger = UserFactory(), UserFactory(), UserFactory()
    message, _ = messaging_services.message_send(sender=ana, receiver_id=bo.pk, content="hi")
    conversation = str(message.conversation_id)

    async def scenario():
        bo_ws, _ = await open_ready(bearer(bo))
        await send_frame(bo_ws, {"action": "conversation.view", "data": {"conversation_id": conversation}})
        assert await nothing_arrives(bo_ws, 0.2)  # no reply; the mark is set
        assert await database_sync_to_async(viewing.is_viewing)(bo.pk, conversation)
        await act(messaging_services.message_send, sender=ana, conversation_id=conversation, content="look")
        assert (await receive(bo_ws))["event"] == "message.new"
        assert await nothing_arrives(bo_ws)  # no notification: bo is looking
        await send_frame(bo_ws, {"action": "conversation.view", "data": {"conversation_id": None}})
        await nothing_arrives(bo_ws, 0.2)
        await act(messaging_services.message_send, sender=ana, conversation_id=conversation, content="away?")
        events = {(await receive(bo_ws))["event"], (await receive(bo_ws))["event"]}
        assert events == {"message.new", "notification.new"}
        # Someone else's conversation, or junk: an error, and the socket stays up.
        stranger_ws, _ = await open_ready(bearer(stranger))
        for data in ({"conversation_id": conversation}, {"conversation_id": "junk"}, {"conversation_id": 5}):
            await send_frame(stranger_ws, {"action": "conversation.view", "data": data, "ref": 1})
            error = await receive(stranger_ws)
            assert error["event"] == "error" and error["data"]["code"] in (
                "conversation_not_found",
                "not_found",
                "invalid",
            )
        assert not await database_sync_to_async(viewing.is_viewing)(stranger.pk, conversation)
        # Closing the socket clears its mark.
        await send_frame(bo_ws, {"action": "conversation.view", "data": {"conversation_id": conversation}})
        await nothing_arrives(bo_ws, 0.2)
        await bo_ws.disconnect()
        assert not await database_sync_to_async(viewing.is_viewing)(bo.pk, conversation)
        await stranger_ws.disconnect()

    run(scenario)

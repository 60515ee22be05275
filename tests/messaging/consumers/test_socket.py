"""Direct messages over /ws/: message.new after commit, sends, receipts, typing, bad frames."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from rest_framework_simplejwt.tokens import AccessToken

from messaging import services
from messaging.models import Message
from socialsite.realtime.consumers import CLOSE_UNAUTHENTICATED
from tests.factories import UserFactory
from tests.socialsite.realtime.sockets import (
    bearer,
    expect_close,
    nothing_arrives,
    open_ready,
    open_socket,
    receive,
    run,
    send_frame,
)

pytestmark = pytest.mark.django_db(transaction=True)


def direct(sender, receiver, content="first"):
    message, _ = services.message_send(sender=sender, receiver_id=receiver.pk, content=content)
    return str(message.conversation_id)


async def expect_event(ws, event):
    frame = await receive(ws)
    assert frame["event"] == event, frame
    return frame


def test_a_socket_send_reaches_every_member_and_every_device_once(settings):
    settings.NOTIFICATION_MESSAGE_SECONDS = 0  # the first message doesn't hold back the second's
    ana, bo, cy = UserFactory(), UserFactory(), UserFactory()
    conversation = direct(ana, bo)
    headers = {"ana": bearer(ana), "bo": bearer(bo), "cy": bearer(cy)}

    async def scenario():
        ana_phone, _ = await open_ready(headers["ana"])
        ana_laptop, _ = await open_ready(headers["ana"])
        bo_ws, _ = await open_ready(headers["bo"])
        cy_ws, _ = await open_ready(headers["cy"])
        frame = {
            "action": "message.send",
            "data": {"conversation_id": conversation, "content": "hey", "client_id": "k1"},
        }
        await send_frame(ana_phone, {**frame, "ref": 7})
        reply = None
        for _ in range(2):  # the reply and the phone's own message.new, in either order
            got = await receive(ana_phone)
            if got["event"] == "message.sent":
                reply = got
        assert reply["ref"] == 7 and reply["data"]["content"] == "hey" and reply["data"]["replayed"] is False
        for ws, client_id in ((bo_ws, None), (ana_laptop, "k1")):  # the client_id is the sender's own
            new = await expect_event(ws, "message.new")
            assert new["data"]["id"] == reply["data"]["id"] and new["data"]["client_id"] == client_id
            assert new["data"]["sender"]["username"] == ana.username and new["data"]["seq"] == 2
        notified = await expect_event(bo_ws, "notification.new")  # bo isn't looking at the conversation
        assert notified["data"]["type"] == "message" and notified["data"]["conversation_id"] == conversation
        # A retried send (same client_id) answers with the first message and tells nobody again.
        await send_frame(ana_phone, frame)
        again = await expect_event(ana_phone, "message.sent")
        assert again["data"]["id"] == reply["data"]["id"] and again["data"]["replayed"] is True
        assert await nothing_arrives(bo_ws)
        assert await nothing_arrives(cy_ws)
        for ws in (ana_phone, ana_laptop, bo_ws, cy_ws):
            await ws.disconnect()

    run(scenario)
    assert Message.objects.count() == 2


def test_delivered_and_read_receipts_reach_the_sender():
    ana, bo = UserFactory(), UserFactory()
    conversation = direct(ana, bo)
    message = Message.objects.get()
    headers = {"ana": bearer(ana), "bo": bearer(bo)}

    async def scenario():
        ana_ws, _ = await open_ready(headers["ana"])
        bo_ws, _ = await open_ready(headers["bo"])
        await send_frame(
            bo_ws,
            {"action": "message.delivered", "data": {"conversation_id": conversation, "message_id": str(message.pk)}},
        )
        delivered = await expect_event(ana_ws, "message.delivered")
        assert delivered["data"] == {"conversation_id": conversation, "user_id": str(bo.pk), "up_to_seq": 1}
        await database_sync_to_async(services.conversation_read)(reader=bo, conversation_id=conversation)
        read = await expect_event(ana_ws, "message.read")
        assert read["data"] == {"conversation_id": conversation, "user_id": str(bo.pk), "up_to_seq": 1}
        assert (await expect_event(bo_ws, "message.read"))["data"]["up_to_seq"] == 1  # bo's other tabs clear badges
        for ws in (ana_ws, bo_ws):
            await ws.disconnect()

    run(scenario)


def test_typing_is_relayed_rate_limited_and_never_stored():
    ana, bo = UserFactory(), UserFactory()
    conversation = direct(ana, bo)
    headers = {"ana": bearer(ana), "bo": bearer(bo)}

    async def scenario():
        ana_ws, _ = await open_ready(headers["ana"])
        bo_ws, _ = await open_ready(headers["bo"])
        start = {"action": "typing.start", "data": {"conversation_id": conversation}}
        await send_frame(ana_ws, start)
        typing = await expect_event(bo_ws, "typing")
        assert typing["data"] == {
            "conversation_id": conversation,
            "user_id": str(ana.pk),
            "username": ana.username,
            "state": "start",
            "expires_in": services.TYPING_EXPIRES_SECONDS,
        }
        for _ in range(5):  # a burst: the others already show it
            await send_frame(ana_ws, start)
        assert await nothing_arrives(bo_ws)
        await send_frame(ana_ws, {"action": "typing.stop", "data": {"conversation_id": conversation}})
        assert (await expect_event(bo_ws, "typing"))["data"]["state"] == "stop"
        assert await nothing_arrives(ana_ws)  # not echoed to the typist
        for ws in (ana_ws, bo_ws):
            await ws.disconnect()

    run(scenario)
    assert Message.objects.count() == 1


def test_bad_frames_get_an_error_and_the_socket_stays_up(settings):
    settings.THROTTLE_MESSAGE = "4/m"  # every send that gets past validation counts, refused or not
    ana, bo, cy = UserFactory(), UserFactory(), UserFactory()
    conversation = direct(bo, cy)  # ana isn't a member
    mine = direct(ana, bo)  # the limit counts this one
    headers = bearer(ana)
    frames = [
        ("{not json", "bad_frame"),
        ({"action": "message.nope", "data": {}}, "unknown_action"),
        ({"action": "message.send", "data": {"content": "x"}}, "invalid"),
        (
            {"action": "message.send", "data": {"conversation_id": conversation, "content": "let me in"}},
            "conversation_not_found",
        ),
        ({"action": "message.send", "data": {"conversation_id": "garbage", "content": "x"}}, "not_found"),
        ({"action": "message.send", "data": {"conversation_id": mine, "content": ""}}, "invalid"),
        ({"action": "message.send", "data": {"conversation_id": mine, "content": "x" * 4001}}, "too_long"),
        ({"action": "message.send", "data": {"conversation_id": mine, "content": 12}}, "invalid"),
        ({"action": "typing.start", "data": {"conversation_id": conversation}}, "conversation_not_found"),
        ({"action": "message.delivered", "data": {"conversation_id": mine}}, "invalid"),
    ]

    async def scenario():
        ws, _ = await open_ready(headers)
        for frame, code in frames:
            await send_frame(ws, frame)
            error = await expect_event(ws, "error")
            assert error["data"]["code"] == code, (frame, error)
        await send_frame(ws, {"action": "message.send", "data": {"conversation_id": mine, "content": "ok"}})
        assert {(await receive(ws))["event"] for _ in range(2)} == {"message.sent", "message.new"}  # either order
        await send_frame(
            ws, {"action": "message.send", "data": {"conversation_id": mine, "content": "flood"}, "ref": 9}
        )
        limited = await expect_event(ws, "error")
        assert limited["data"]["code"] == "throttled" and limited["data"]["retry_after"] >= 1
        assert limited["data"]["ref"] == 9
        await send_frame(ws, {"action": "ping", "data": {"ts": 1}})
        assert (await receive(ws))["event"] == "pong"
        await ws.disconnect()

    run(scenario)
    assert list(Message.objects.order_by("seq").values_list("content", flat=True)) == ["first", "first", "ok"]


def test_an_expired_token_gets_no_socket():
    ana = UserFactory()
    token = AccessToken.for_user(ana)
    token.set_exp(lifetime=-timedelta(seconds=1))

    async def scenario():
        ws, accepted, _ = await open_socket({"authorization": f"Bearer {token}"})
        assert accepted
        await expect_close(ws, CLOSE_UNAUTHENTICATED)

    run(scenario)


async def frames_until(ws, wanted):
    """Frames until one of each wanted event has come (in any order): {event: frame}."""
    got = {}
    while not set(wanted) <= set(got):
        frame = await receive(ws)
        got.setdefault(frame["event"], frame)
    return got


def test_members_get_group_lines_live_with_the_seq_and_the_added_and_removed_are_notified():
    ana, bo, cy = UserFactory(username="ana"), UserFactory(username="bo"), UserFactory(username="cy")
    conversation = str(
        services.conversation_group_create(creator=ana, title="Trip", member_ids=[str(bo.pk)]).conversation_id
    )
    services.message_send(sender=ana, conversation_id=conversation, content="hello")
    headers = {"ana": bearer(ana), "bo": bearer(bo), "cy": bearer(cy)}

    async def scenario():
        ana_ws, _ = await open_ready(headers["ana"])
        bo_ws, _ = await open_ready(headers["bo"])
        cy_ws, _ = await open_ready(headers["cy"])
        await database_sync_to_async(services.members_add)(
            actor=ana, conversation_id=conversation, user_ids=[str(cy.pk)]
        )
        for ws in (ana_ws, bo_ws):  # the members, the actor's own devices too
            line = (await frames_until(ws, ["message.new", "conversation.updated"]))["message.new"]["data"]
            assert (line["kind"], line["seq"], line["content"]) == ("added", 2, "ana added cy")
            assert line["system"] == {"actor_id": str(ana.pk), "target_ids": [str(cy.pk)], "title": None}
        got = await frames_until(cy_ws, ["conversation.new", "message.new", "notification.new"])
        assert got["message.new"]["data"]["seq"] == 2  # the added one gets the line that added them
        notice = got["notification.new"]["data"]
        assert (notice["type"], notice["conversation_id"], notice["text"]) == (
            "group_added",
            conversation,
            "ana added you to a group",
        )
        assert await nothing_arrives(bo_ws)  # no notification for a line
        await database_sync_to_async(services.member_remove)(
            actor=ana, conversation_id=conversation, user_id=str(bo.pk)
        )
        got = await frames_until(bo_ws, ["message.new", "conversation.updated", "notification.new"])
        assert (got["message.new"]["data"]["kind"], got["message.new"]["data"]["seq"]) == ("removed", 3)
        assert got["conversation.updated"]["data"]["left"] == str(bo.pk)
        assert got["notification.new"]["data"]["type"] == "group_removed"
        line = (await frames_until(cy_ws, ["message.new", "conversation.updated"]))["message.new"]["data"]
        assert (line["content"], line["seq"]) == ("ana removed bo", 3)
        assert await nothing_arrives(cy_ws)
        # bo is out: the next message doesn't reach him, and its seq follows the lines'.
        await database_sync_to_async(services.message_send)(sender=ana, conversation_id=conversation, content="next")
        assert (await expect_event(cy_ws, "message.new"))["data"]["seq"] == 4
        assert await nothing_arrives(bo_ws)
        for ws in (ana_ws, bo_ws, cy_ws):
            await ws.disconnect()

    run(scenario)

"""Reactions and replies over /ws/: message.react, message.reaction to every member, bad frames."""

import pytest

from messaging import services
from messaging.models import Message, Reaction
from tests.factories import UserFactory
from tests.socialsite.realtime.sockets import bearer, nothing_arrives, open_ready, receive, run, send_frame

pytestmark = pytest.mark.django_db(transaction=True)

THUMBS = "👍"


async def expect_event(ws, event):
    frame = await receive(ws)
    assert frame["event"] == event, frame
    return frame


def test_a_reaction_reaches_every_member_once_and_bad_frames_are_refused():
    ana, bo, cy = UserFactory(), UserFactory(), UserFactory()
    message, _ = services.message_send(sender=ana, receiver_id=bo.pk, content="hi")
    other, _ = services.message_send(sender=cy, receiver_id=bo.pk, content="not ana's")
    mid = str(message.pk)
    headers = {"ana": bearer(ana), "bo": bearer(bo), "cy": bearer(cy)}

    async def scenario():
        ana_ws, _ = await open_ready(headers["ana"])
        bo_ws, _ = await open_ready(headers["bo"])
        cy_ws, _ = await open_ready(headers["cy"])
        frame = {"action": "message.react", "data": {"message_id": mid, "emoji": THUMBS}, "ref": 3}
        await send_frame(bo_ws, frame)
        got = {}
        for _ in range(2):  # the reply and bo's own message.reaction, in either order
            reply = await receive(bo_ws)
            got[reply["event"]] = reply
        assert got["message.reacted"]["ref"] == 3
        assert got["message.reacted"]["data"] == {
            "message_id": mid,
            "changed": True,
            "reactions": [{"emoji": THUMBS, "count": 1, "user_ids": [str(bo.pk)], "me": True}],
        }
        event = await expect_event(ana_ws, "message.reaction")
        assert event["data"] == {
            "conversation_id": str(message.conversation_id),
            "message_id": mid,
            "seq": 1,
            "user_id": str(bo.pk),
            "emoji": THUMBS,
            "reacted": True,
            "reactions": [{"emoji": THUMBS, "count": 1, "user_ids": [str(bo.pk)]}],
        }
        assert event["data"] == got["message.reaction"]["data"]
        await send_frame(bo_ws, frame)  # replayed: nothing changes, nobody hears of it
        assert (await expect_event(bo_ws, "message.reacted"))["data"]["changed"] is False
        assert await nothing_arrives(ana_ws)
        await send_frame(bo_ws, {"action": "message.react", "data": {"message_id": mid, "emoji": THUMBS, "on": False}})
        off = await expect_event(ana_ws, "message.reaction")
        assert off["data"]["reacted"] is False and off["data"]["reactions"] == []
        for bad, code in [
            ({"message_id": mid, "emoji": "🦄"}, "invalid"),
            ({"message_id": mid}, "invalid"),
            ({"emoji": THUMBS}, "invalid"),
            ({"message_id": mid, "emoji": THUMBS, "on": "yes"}, "invalid"),
            ({"message_id": "garbage", "emoji": THUMBS}, "not_found"),
            ({"message_id": str(other.pk), "emoji": THUMBS}, "message_not_found"),  # not ana's conversation
        ]:
            await send_frame(ana_ws, {"action": "message.react", "data": bad})
            error = await expect_event(ana_ws, "error")
            assert error["data"]["code"] == code, (bad, error)
        assert await nothing_arrives(cy_ws)
        for ws in (ana_ws, bo_ws, cy_ws):
            await ws.disconnect()

    run(scenario)
    assert not Reaction.objects.exists() and Message.objects.count() == 2


def test_a_reply_sent_over_the_socket_carries_its_quote_to_every_member():
    ana, bo = UserFactory(), UserFactory()
    first, _ = services.message_send(sender=ana, receiver_id=bo.pk, content="lunch?")
    conversation = str(first.conversation_id)
    headers = {"ana": bearer(ana), "bo": bearer(bo)}

    async def scenario():
        ana_ws, _ = await open_ready(headers["ana"])
        bo_ws, _ = await open_ready(headers["bo"])
        data = {"conversation_id": conversation, "content": "yes", "reply_to": str(first.pk)}
        await send_frame(bo_ws, {"action": "message.send", "data": data})
        new = (await expect_event(ana_ws, "message.new"))["data"]
        assert new["reply_to"] == {
            "id": str(first.pk),
            "sender": {"id": str(ana.pk), "username": ana.username, "display_name": ana.profile.name},
            "excerpt": "lunch?",
            "deleted": False,
        }
        assert new["reactions"] == []
        await send_frame(bo_ws, {"action": "message.send", "data": {**data, "reply_to": 5}})
        frame = await receive(bo_ws)
        while frame["event"] != "error":  # the first send's reply and its message.new come first
            frame = await receive(bo_ws)
        assert frame["data"]["code"] == "invalid"
        for ws in (ana_ws, bo_ws):
            await ws.disconnect()

    run(scenario)

"""Direct messages end to end: real Daphne processes, driven as a mobile app would (REST + a
plain WebSocket with a JWT), and across two Daphne processes through the Redis channel layer."""

import json
import os

import pytest
import requests

from messaging.models import Message
from tests.conftest import require
from tests.e2e.conftest import ready_socket, receive, register_and_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]

REDIS_URL = os.environ.get("REDIS_URL", "")


def events_until(ws, event, *, skip=("message.delivered", "message.read", "typing")):
    """Frames up to the first `event` (others of the kinds in `skip` are passed over)."""
    while True:
        frame = receive(ws)
        if frame["event"] == event:
            return frame
        assert frame["event"] in skip or frame["event"] in ("message.new", "message.sent"), frame


def api(daphne, account, method, path, **kwargs):
    return requests.request(method, f"{daphne.url}/api/v1{path}", headers=account.auth, timeout=15, **kwargs)


def test_a_mobile_client_chats_over_rest_and_the_socket_and_resyncs_after_a_drop(daphne):
    ana, bo = register_and_login(daphne.url), register_and_login(daphne.url)
    first = api(daphne, ana, "POST", "/messages", json={"receiver_id": bo.id, "content": "hi bo", "client_id": "m1"})
    assert first.status_code == 201, first.text
    conversation = first.json()["conversation_id"]
    with ready_socket(daphne, ana) as ana_ws, ready_socket(daphne, bo) as bo_ws:
        bo_ws.send(
            json.dumps({"action": "message.send", "data": {"conversation_id": conversation, "content": "hey ana"}})
        )
        reply = events_until(ana_ws, "message.new")["data"]
        assert (reply["content"], reply["sender_id"], reply["seq"]) == ("hey ana", bo.id, 2)
        ana_ws.send(
            json.dumps(
                {"action": "message.delivered", "data": {"conversation_id": conversation, "message_id": reply["id"]}}
            )
        )
        assert events_until(bo_ws, "message.delivered")["data"]["up_to_seq"] == 2
        ana_ws.send(json.dumps({"action": "typing.start", "data": {"conversation_id": conversation}}))
        assert events_until(bo_ws, "typing")["data"]["user_id"] == ana.id
        read = api(daphne, ana, "POST", f"/conversations/{conversation}/read", json={})
        assert read.json()["unread_count"] == 0
        assert events_until(bo_ws, "message.read")["data"] == {
            "conversation_id": conversation,
            "user_id": ana.id,
            "up_to_seq": 2,
        }
    # Bo's phone is offline while Ana writes twice; then it reconnects and asks for what it missed.
    for text in ("while you were away", "and again"):
        assert (
            api(daphne, ana, "POST", "/messages", json={"conversation_id": conversation, "content": text}).status_code
            == 201
        )
    with ready_socket(daphne, bo):
        missed = api(
            daphne, bo, "GET", "/users/me/messages", params={"conversation_id": conversation, "after": 2}
        ).json()
    assert [m["content"] for m in missed["results"]] == ["while you were away", "and again"] and missed["next"] is None
    inbox = api(daphne, bo, "GET", "/conversations").json()["results"]
    assert inbox[0]["last_message"]["content"] == "and again" and inbox[0]["unread_count"] == 2
    # A replayed client_id changes nothing; nobody else can read the conversation.
    again = api(daphne, ana, "POST", "/messages", json={"receiver_id": bo.id, "content": "hi bo", "client_id": "m1"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    stranger = register_and_login(daphne.url)
    peek = api(daphne, stranger, "GET", "/users/me/messages", params={"conversation_id": conversation})
    assert peek.status_code == 404 and peek.json()["error"]["code"] == "conversation_not_found"
    assert Message.objects.filter(conversation_id=conversation).count() == 4


def test_two_daphne_processes_deliver_to_each_others_sockets(start_daphne):
    require(bool(REDIS_URL), "REDIS_URL not set: delivery across processes needs the Redis channel layer")
    east, west = start_daphne(), start_daphne()
    ana, bo, cy = (register_and_login(east.url) for _ in range(3))
    group = api(east, ana, "POST", "/conversations", json={"title": "Across", "member_ids": [bo.id, cy.id]})
    assert group.status_code == 201, group.text
    conversation = group.json()["id"]
    with ready_socket(east, ana) as ana_ws, ready_socket(west, bo) as bo_ws, ready_socket(west, cy) as cy_ws:
        ana_ws.send(
            json.dumps(
                {"action": "message.send", "data": {"conversation_id": conversation, "content": "from east"}, "ref": 1}
            )
        )
        for ws in (bo_ws, cy_ws):
            assert events_until(ws, "message.new")["data"]["content"] == "from east"
        bo_ws.send(
            json.dumps({"action": "message.send", "data": {"conversation_id": conversation, "content": "from west"}})
        )
        assert events_until(ana_ws, "message.new")["data"]["content"] == "from east"  # her own, on her socket
        assert events_until(ana_ws, "message.new")["data"]["content"] == "from west"
        assert events_until(cy_ws, "message.new")["data"]["content"] == "from west"
        bo_ws.send(json.dumps({"action": "typing.start", "data": {"conversation_id": conversation}}))
        assert events_until(ana_ws, "typing")["data"]["user_id"] == bo.id
    assert list(
        Message.objects.filter(conversation_id=conversation).order_by("seq").values_list("content", flat=True)
    ) == [
        "from east",
        "from west",
    ]

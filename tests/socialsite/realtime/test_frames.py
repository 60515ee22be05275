"""Client → server frames: replies, ref echo, and bad frames that leave the socket up."""

import json

import pytest

from socialsite.realtime.consumers import MAX_FRAME_BYTES
from tests.factories import UserFactory
from tests.socialsite.realtime.sockets import bearer, open_ready, receive, run, send_frame

pytestmark = pytest.mark.django_db(transaction=True)


def scenario_for(user, steps):
    async def scenario():
        ws, _ = await open_ready(bearer(user))
        await steps(ws)
        await ws.disconnect()

    return scenario


def test_ping_gets_pong():
    async def steps(ws):
        await send_frame(ws, {"action": "ping", "data": {"ts": 1}})
        assert await receive(ws) == {"event": "pong", "data": {"ts": 1}}

    run(scenario_for(UserFactory(), steps))


def test_ping_without_data_gets_pong():
    async def steps(ws):
        await send_frame(ws, {"action": "ping"})
        assert await receive(ws) == {"event": "pong", "data": {"ts": None}}

    run(scenario_for(UserFactory(), steps))


@pytest.mark.parametrize("ref", ["r-1", 7])
def test_reply_echoes_ref(ref):
    async def steps(ws):
        await send_frame(ws, {"action": "ping", "data": {"ts": 2}, "ref": ref})
        assert await receive(ws) == {"event": "pong", "data": {"ts": 2}, "ref": ref}

    run(scenario_for(UserFactory(), steps))


def test_error_echoes_ref_inside_data():
    async def steps(ws):
        await send_frame(ws, {"action": "nope.nope", "data": {}, "ref": "r-9"})
        frame = await receive(ws)
        assert frame["event"] == "error"
        assert frame["data"]["code"] == "unknown_action"
        assert frame["data"]["ref"] == "r-9"

    run(scenario_for(UserFactory(), steps))


def test_ref_that_is_not_a_string_or_integer_is_dropped():
    async def steps(ws):
        await send_frame(ws, {"action": "ping", "data": {"ts": 3}, "ref": {"x": 1}})
        assert await receive(ws) == {"event": "pong", "data": {"ts": 3}}

    run(scenario_for(UserFactory(), steps))


OVERSIZED = json.dumps({"action": "ping", "data": {"pad": "x" * MAX_FRAME_BYTES}})

BAD_FRAMES = {
    "not json": ("{not json", "bad_frame"),
    "json list": ("[1, 2]", "bad_frame"),
    "json string": ('"ping"', "bad_frame"),
    "missing action": ({"data": {"ts": 1}}, "bad_frame"),
    "action not a string": ({"action": 5, "data": {}}, "bad_frame"),
    "unknown action": ({"action": "nope.nope", "data": {}}, "unknown_action"),
    "data is a list": ({"action": "ping", "data": [1]}, "bad_frame"),
    "data is a string": ({"action": "ping", "data": "x"}, "bad_frame"),
    "data is null": ({"action": "ping", "data": None}, "bad_frame"),
    "oversized": (OVERSIZED, "frame_too_large"),
    "binary frame": (b"\x00\x01binary", "bad_frame"),
}


@pytest.mark.parametrize("frame, code", list(BAD_FRAMES.values()), ids=list(BAD_FRAMES))
def test_bad_frame_gets_error_event_and_connection_stays_up(frame, code):
    async def steps(ws):
        await send_frame(ws, frame)
        error = await receive(ws)
        assert error["event"] == "error"
        assert error["data"]["code"] == code
        assert isinstance(error["data"]["message"], str) and error["data"]["message"]
        # Still up, and still serving this user:
        await send_frame(ws, {"action": "ping", "data": {"ts": 42}})
        assert await receive(ws) == {"event": "pong", "data": {"ts": 42}}

    run(scenario_for(UserFactory(), steps))


def test_many_bad_frames_in_a_row_keep_the_socket_up():
    async def steps(ws):
        for frame, code in BAD_FRAMES.values():
            await send_frame(ws, frame)
            assert (await receive(ws))["data"]["code"] == code
        await send_frame(ws, {"action": "ping", "data": {"ts": 5}})
        assert (await receive(ws))["event"] == "pong"

    run(scenario_for(UserFactory(), steps))


def test_frame_just_under_the_limit_is_accepted():
    padding = "x" * (MAX_FRAME_BYTES - 100)
    frame = json.dumps({"action": "ping", "data": {"ts": 6, "pad": padding}})
    assert len(frame.encode()) <= MAX_FRAME_BYTES

    async def steps(ws):
        await send_frame(ws, frame)
        assert await receive(ws) == {"event": "pong", "data": {"ts": 6}}

    run(scenario_for(UserFactory(), steps))

"""Drive socialsite.asgi.application over an in-process WebSocket from sync tests.

pytest-asyncio is not installed: a test writes `async def scenario()` and runs it with
run(scenario), which gives it one event loop for its whole life. Sync code that touches
the database (services, factories) is awaited through database_sync_to_async; it runs
in the test's own thread, so it shares the test's database connection.
"""

import json

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from accounts import tokens
from socialsite.asgi import application

TIMEOUT = 3  # seconds; generous for the Redis channel layer, never reached when things work


def run(scenario):
    return async_to_sync(scenario)()


def access_token(user):
    return tokens.access_token(user)


def bearer(user):
    return {"authorization": f"Bearer {access_token(user)}"}


def _encode(headers):
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in (headers or {}).items()]


async def open_socket(headers=None, path="/ws/"):
    """-> (communicator, accepted, close_code_if_refused)."""
    ws = WebsocketCommunicator(application, path, headers=_encode(headers))
    accepted, detail = await ws.connect(timeout=TIMEOUT)
    return ws, accepted, (None if accepted else detail)


async def open_ready(headers=None, path="/ws/"):
    """An authenticated socket, past its session.ready frame. -> (communicator, ready_frame)."""
    ws, accepted, code = await open_socket(headers, path)
    assert accepted, f"handshake refused with close code {code}"
    ready = await ws.receive_json_from(TIMEOUT)
    assert ready["event"] == "session.ready", ready
    return ws, ready


async def expect_close(ws, code):
    """The server closes the accepted socket with `code`; then the client hangs up too."""
    message = await ws.receive_output(TIMEOUT)
    assert message["type"] == "websocket.close", message
    assert message.get("code") == code, message
    # Only the close matters here; don't wait long for the consumer's own teardown (with
    # channels_redis it sits in a blocking Redis read for up to 5 s before it notices).
    await ws.disconnect(code=code, timeout=0.5)


async def send_frame(ws, frame):
    if isinstance(frame, bytes):
        await ws.send_to(bytes_data=frame)
    elif isinstance(frame, str):
        await ws.send_to(text_data=frame)
    else:
        await ws.send_to(text_data=json.dumps(frame))


async def receive(ws):
    return await ws.receive_json_from(TIMEOUT)


async def nothing_arrives(ws, seconds=0.5):
    return await ws.receive_nothing(timeout=seconds, interval=0.02)

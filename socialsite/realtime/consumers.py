"""The one socket per client, at /ws/.

Out: {"event": "<noun.verb>", "data": {...}}. In: {"action": "<noun.verb>", "data": {...}}.
Apps add client actions with `register_action`; the consumer never queries to decide
who receives an event: services send to user groups (see events.py).
"""

import contextlib
import functools
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from structlog.contextvars import bound_contextvars

from socialsite import metrics, shutdown
from socialsite.errors import ServiceError
from socialsite.realtime import heartbeat
from socialsite.realtime.events import user_group

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
MAX_FRAME_BYTES = 64 * 1024

ACTIONS: dict[str, Callable[..., Any]] = {}
DISCONNECT_HOOKS: list[Callable[..., Any]] = []


def register_disconnect(hook):
    """Decorate `async def hook(consumer)`: run when a socket closes (e.g. to clear its marks).

    Hooks run after the socket has left its groups, a bounded number at once per process, and are
    retried when they raise (heartbeat.leave): they must be idempotent."""
    DISCONNECT_HOOKS.append(hook)
    return hook


def register_action(name):
    """Decorate `async def handler(consumer, data) -> dict | None`; a dict is sent back as the reply."""

    def decorate(handler):
        ACTIONS[name] = handler
        return handler

    return decorate


@register_action("ping")
async def ping(consumer, data):
    return {"event": "pong", "data": {"ts": data.get("ts")}}


class ActionError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class RealtimeConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.group = user_group(user.pk)
        # In the group and marked online before session.ready: from then on, events reach this
        # socket. The process renews both while the socket is open (heartbeat.py).
        metrics.REALTIME_OPEN.labels("websocket").inc()  # down again in leave(), with the group
        await heartbeat.join(self.channel_layer, self.channel_name, user.pk, [self.group])
        await self.send_event("session.ready", {"user_id": str(user.pk)})

    async def dispatch(self, message):
        # Channels' dispatch first closes the old database connections of its one shared thread,
        # a hop to that thread for every frame and every event. Nothing here uses that thread's
        # connection (actions and lookups run on the thread pool and give theirs back), and with
        # 12,000 sockets closing at once those hops were a third of the event loop's time.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:  # also when a handler raised: never leave a membership renewed for a dead socket
            await self.leave()

    async def disconnect(self, code):
        await self.leave()

    async def leave(self):
        group = self.__dict__.pop("group", None)  # once, from disconnect() or __call__'s finally
        if group is not None:
            metrics.REALTIME_OPEN.labels("websocket").dec()
            hooks = [functools.partial(hook, self) for hook in DISCONNECT_HOOKS]
            await heartbeat.leave(self.channel_layer, self.channel_name, [group], hooks)

    async def receive(self, text_data=None, bytes_data=None):
        if not hasattr(self, "user"):
            return
        # Each frame is a request of its own: its log lines, the events and tasks its writes send
        # carry this id (socialsite.logs).
        with bound_contextvars(request_id=str(uuid.uuid4()), user_id=str(self.user.pk)):
            await self.receive_action(text_data, bytes_data)

    async def receive_action(self, text_data, bytes_data):
        ref = None
        try:
            action, data, ref = self.parse(text_data, bytes_data)
            handler = ACTIONS.get(action)
            if handler is None:
                raise ActionError("unknown_action", f"Unknown action {action!r}.")
            reply = await handler(self, data)
        except ActionError as exc:
            await self.send_error(exc.code, exc.message, ref=ref)
            return
        except ServiceError as exc:  # a service refused: the same code and message the API gives
            extra = {"fields": exc.fields, "retry_after": getattr(exc, "retry_after", None)}
            await self.send_error(exc.code, exc.message, ref=ref, **extra)
            return
        except Exception:
            logger.exception("Socket action failed")
            await self.send_error("server_error", "Something went wrong on our side.", ref=ref)
            return
        if reply is not None:
            if ref is not None:
                reply = {**reply, "ref": ref}
            await self.send(text_data=json.dumps(reply))

    @staticmethod
    def parse(text_data, bytes_data):
        if text_data is None:
            raise ActionError("bad_frame", "Send text frames holding JSON.")
        if len(text_data.encode()) > MAX_FRAME_BYTES:
            raise ActionError("frame_too_large", f"Frames are limited to {MAX_FRAME_BYTES} bytes.")
        try:
            frame = json.loads(text_data)
        except ValueError:
            raise ActionError("bad_frame", "The frame is not valid JSON.")
        if not isinstance(frame, dict) or not isinstance(frame.get("action"), str):
            raise ActionError("bad_frame", 'Frames look like {"action": "noun.verb", "data": {...}}.')
        data = frame.get("data", {})
        if not isinstance(data, dict):
            raise ActionError("bad_frame", '"data" must be an object.')
        ref = frame.get("ref")
        return frame["action"], data, ref if isinstance(ref, (str, int)) else None

    async def send(self, text_data=None, bytes_data=None, close=False):
        # Shutting down, the server closes every socket with 1001 (socialsite.serve); a frame sent
        # meanwhile would raise and skip disconnect()'s clean-up.
        if shutdown.draining():
            return
        with contextlib.suppress(Disconnected):  # the client is closing: websocket.disconnect comes next
            await super().send(text_data, bytes_data, close)

    async def send_event(self, event, data):
        await self.send(text_data=json.dumps({"event": event, "data": data}))

    async def send_error(self, code, message, ref=None, fields=None, retry_after=None):
        data = {"code": code, "message": message}
        if fields:
            data["fields"] = fields
        if retry_after:
            data["retry_after"] = retry_after
        if ref is not None:
            data["ref"] = ref
        await self.send_event("error", data)

    async def event_push(self, message):
        """Forward an event a service sent to this user's group, with the id of the request whose
        write sent it, if any (docs/realtime.md, "Frames")."""
        frame = {"event": message["event"], "data": message["data"]}
        if "request_id" in message:
            frame["request_id"] = message["request_id"]
        await self.send(text_data=json.dumps(frame))

    async def session_gap(self, message):
        """The channel layer dropped an event for this socket (a full or stale queue, layers.py): the
        client fetches what it may have missed over REST (docs/realtime.md "Gaps and resync")."""
        await self.send_event("session.resync", {"reason": message.get("reason", "overflow")})

    async def session_close(self, message):
        """The account's credentials were revoked (deactivation): drop the socket."""
        await self.close(code=CLOSE_UNAUTHENTICATED)

"""The one socket per client, at /ws/.

Out: {"event": "<noun.verb>", "data": {...}}. In: {"action": "<noun.verb>", "data": {...}}.
Apps add client actions with `register_action`; the consumer never queries to decide
who receives an event: services send to user groups (see events.py).
"""

import asyncio
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from socialsite import shutdown
from socialsite.errors import ServiceError
from socialsite.realtime import presence
from socialsite.realtime.events import user_group

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
MAX_FRAME_BYTES = 64 * 1024

ACTIONS = {}
DISCONNECT_HOOKS = []


def register_disconnect(hook):
    """Decorate `async def hook(consumer)`: run when a socket closes (e.g. to clear its marks)."""
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
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.mark_online()  # before session.ready: from then on, events reach this socket
        self.heartbeat = asyncio.create_task(self.stay_online())
        await self.send_event("session.ready", {"user_id": str(user.pk)})

    async def mark_online(self):
        try:
            await database_sync_to_async(presence.mark_online)(self.user)
        except Exception:  # the socket works without presence; some events may skip it
            logger.exception("Could not mark user %s online", self.user.pk)

    async def stay_online(self):
        while True:
            await asyncio.sleep(presence.HEARTBEAT)
            await self.mark_online()

    async def disconnect(self, code):
        if hasattr(self, "heartbeat"):
            self.heartbeat.cancel()
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if hasattr(self, "user"):
            for hook in DISCONNECT_HOOKS:
                try:
                    await hook(self)
                except Exception:
                    logger.exception("Socket disconnect hook %s failed", hook.__name__)

    async def receive(self, text_data=None, bytes_data=None):
        if not hasattr(self, "user"):
            return
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
        """Forward an event a service sent to this user's group."""
        await self.send_event(message["event"], message["data"])

    async def session_close(self, message):
        """The account's credentials were revoked (deactivation): drop the socket."""
        await self.close(code=CLOSE_UNAUTHENTICATED)

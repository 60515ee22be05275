"""For clients that can't hold a WebSocket: `GET /api/v1/notifications/stream` (server-sent
events) and `GET /api/v1/notifications/poll?since=` (long-poll). Both are async views on
Daphne's loop; docs/realtime.md has the wire format.

Each request listens on a channel of its own in the user's channel-layer group, the group every
socket of the user is in, so it hears what sockets hear, as soon as they do. While it listens,
the user counts as online (presence), since notifications announce themselves only to users
someone is listening for.

When the process shuts down (socialsite.shutdown), both answer at once with what they have and a
retry hint, instead of holding the process up until their timeout.
"""

import asyncio
import json

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections
from django.http import JsonResponse, StreamingHttpResponse

from notifications import selectors
from socialsite import metrics, ratelimit, shutdown
from socialsite.api.errors import error_body
from socialsite.params import uuid_or_none
from socialsite.realtime import heartbeat, layers
from socialsite.realtime.auth import bearer_token, user_from_access_token
from socialsite.realtime.events import user_group
from socialsite.realtime.threads import in_thread_pool

NOTIFICATION_EVENTS = ("notification.new", "notification.read", "notification.deleted")


def _error(status, code, message, fields=None, **headers):
    response = JsonResponse(error_body(code, message, fields), status=status)
    for name, value in headers.items():
        response[name] = value
    return response


async def _caller(request):
    """The user from `Authorization: Bearer`, `?access_token=`, or the session cookie (as /ws/)."""
    token = bearer_token(request.scope)
    if token:
        user = await user_from_access_token(token)
    else:
        user = await request.auser()
        # auser() read the session on this request's thread: give the pooled connection back now,
        # not when the stream or the poll ends.
        await sync_to_async(close_old_connections)()
    return user if user.is_authenticated and user.is_active else None


async def _refuse(request):
    """(user, None) for a signed-in caller within its rate; else (None, error response)."""
    if request.method != "GET":
        return None, _error(405, "method_not_allowed", f'Method "{request.method}" not allowed.', Allow="GET")
    user = await _caller(request)
    if user is None:
        return None, _error(401, "not_authenticated", "Sign in, or send an access token.")
    try:
        await sync_to_async(ratelimit.hit)("notifications_listen", user.pk, settings.THROTTLE_API)
    except ratelimit.RateLimitedError as exc:
        return None, _error(429, exc.code, exc.message, **{"Retry-After": str(exc.retry_after)})
    return user, None


class Listener:
    """The user's group, heard on a channel of this request's own, while it is open."""

    def __init__(self, user, transport=None):
        self.user = user
        self.layer = get_channel_layer()
        self.open = metrics.REALTIME_OPEN.labels(transport) if transport else None  # counted while open

    async def __aenter__(self):
        # In the group and online now; the process renews both while it listens, as for sockets.
        self.channel = await self.layer.new_channel()
        await heartbeat.join(self.layer, self.channel, self.user.pk, [user_group(self.user.pk)])
        if self.open:
            self.open.inc()
        return self

    async def __aexit__(self, *exc_info):
        if self.open:
            self.open.dec()
        await heartbeat.leave(self.layer, self.channel, [user_group(self.user.pk)])

    async def next_event(self, timeout):
        """The next notification event ({"event", "data"}) within timeout seconds, else None.

        None at once, too, when the process starts shutting down (callers check `shutdown.draining()`).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not shutdown.draining() and (left := deadline - loop.time()) > 0:
            receive = asyncio.ensure_future(self.layer.receive(self.channel))
            stop = asyncio.ensure_future(shutdown.wait())
            try:
                await asyncio.wait((receive, stop), timeout=left, return_when=asyncio.FIRST_COMPLETED)
            finally:
                receive.cancel()  # no-op once it has a message
                stop.cancel()
            if not receive.done():  # timed out, or shutting down
                continue
            message = receive.result()
            if message.get("type") == "session.close":  # deactivated: stop listening
                raise PermissionError
            if message.get("type") == layers.GAP:  # the layer dropped events for this listener
                return {"event": "session.resync", "data": {"reason": message.get("reason", "overflow")}}
            if message.get("type") == "event.push" and message.get("event") in NOTIFICATION_EVENTS:
                return message
        return None


# --- SSE ---------------------------------------------------------------------------------------------


def _sse(event, data, event_id=None):
    lines = [f"id: {event_id}"] if event_id else []
    lines += [f"event: {event}", f"data: {json.dumps(data, separators=(',', ':'))}"]
    return "\n".join(lines) + "\n\n"


async def _stream(user, last_event_id):
    loop = asyncio.get_running_loop()
    end = loop.time() + settings.NOTIFICATION_SSE_MAX_SECONDS
    async with Listener(user, "sse") as listener:
        yield "retry: 3000\n\n"
        sent = set()
        cursor = last_event_id  # the newest notification sent: where a catch-up starts
        if not cursor:
            cursor = str(await in_thread_pool(selectors.latest_id)(user) or "")

        async def catch_up():
            nonlocal cursor
            for row in await in_thread_pool(selectors.newer_than)(user, cursor):
                if str(row.pk) not in sent:
                    sent.add(str(row.pk))
                    cursor = str(row.pk)
                    yield _sse("notification.new", selectors.notification_payload(row), row.pk)

        if last_event_id:
            async for frame in catch_up():
                yield frame
        while (left := end - loop.time()) > 0:
            try:
                message = await listener.next_event(min(left, settings.NOTIFICATION_SSE_HEARTBEAT))
            except PermissionError:
                return
            if message is None and shutdown.draining():  # tell the client when to come back, to another process
                yield f"retry: {shutdown.retry_after() * 1000}\n\n"
                return
            if message is None:
                yield ": ping\n\n"
                continue
            event, data = message["event"], message["data"]
            if event == "notification.new":
                if data["id"] in sent:  # already sent while catching up
                    continue
                sent.add(data["id"])
                cursor = data["id"]
                yield _sse(event, data, data["id"])
                continue
            if event == "session.resync":  # new ones missed are sent now; reads and deletes: the client refetches
                async for frame in catch_up():
                    yield frame
            yield _sse(event, data)


async def stream(request):
    user, refused = await _refuse(request)
    if refused:
        return refused
    last_event_id = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or ""
    if last_event_id and uuid_or_none(last_event_id) is None:
        return _error(400, "invalid", "Last-Event-ID is a notification id.", {"Last-Event-ID": ["Not an id."]})
    response = StreamingHttpResponse(_stream(user, last_event_id), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a proxy in front must not hold the events back
    return response


# --- Long-poll -------------------------------------------------------------------------------------


async def poll(request):
    user, refused = await _refuse(request)
    if refused:
        return refused
    since = request.GET.get("since") or None
    if since is not None and uuid_or_none(since) is None:
        return _error(400, "invalid", "since is a notification id.", {"since": ["Not an id."]})
    longest = settings.NOTIFICATION_POLL_SECONDS
    try:
        timeout = int(request.GET.get("timeout", longest))
    except ValueError:
        timeout = -1
    if not 0 <= timeout <= longest:
        return _error(400, "invalid", f"timeout is 0 to {longest} seconds.", {"timeout": [f"0 to {longest}."]})
    async with Listener(user) as listener:  # listening before looking: nothing falls in between
        if since is None:  # a first poll: what comes from now on
            latest = await in_thread_pool(selectors.latest_id)(user)
            since = str(latest) if latest else None
        rows = await in_thread_pool(selectors.newer_than)(user, since)
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not rows and not shutdown.draining() and (left := end - loop.time()) > 0:
            try:
                message = await listener.next_event(left)
            except PermissionError:
                break
            if message is not None and message["event"] in ("notification.new", "session.resync"):
                rows = await in_thread_pool(selectors.newer_than)(user, since)
    results = [selectors.notification_payload(row) for row in rows]
    response = JsonResponse({"results": results, "since": str(rows[-1].pk) if rows else since})
    if shutdown.draining():  # answered early: poll again, to another process, after this
        response["Retry-After"] = str(shutdown.retry_after())
    return response

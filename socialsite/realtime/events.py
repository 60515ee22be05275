"""Server → client events over /ws/, sent only after the data they describe is committed.

A service decides the recipients and calls send_event_on_commit(); the consumer just
forwards what reaches the user's group. Delivery is best effort: a client that was
offline resyncs through REST.
"""

import asyncio
import atexit
import logging
import os
import threading

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from socialsite.logs import current_request_id

logger = logging.getLogger(__name__)


def user_group(user_id):
    return f"user.{user_id}"


def send_event_on_commit(user_ids, event, data):
    """Queue `{"event": event, "data": data}` for every open socket of these users."""
    recipients = [str(user_id) for user_id in user_ids]
    message = _push(event, data)  # the request id now: on_commit may run outside the request's context
    transaction.on_commit(lambda: _send_to_groups(recipients, message))


def send_event_now_unsafe(user_ids, event, data):
    """Send immediately. Unsafe inside a transaction: the data may never commit."""
    _send_to_groups(user_ids, _push(event, data))


def _push(event, data):
    """The channel-layer message; `request_id` names the request (or the task it queued, or the
    socket frame) whose write sent it, when there is one (docs/realtime.md, "Frames")."""
    message = {"type": "event.push", "event": event, "data": data}
    request_id = current_request_id()
    if request_id:
        message["request_id"] = request_id
    return message


def close_sockets_on_commit(user_ids):
    """Close every open socket of these users once the transaction commits (e.g. deactivation)."""
    recipients = [str(user_id) for user_id in user_ids]
    transaction.on_commit(lambda: _send_to_groups(recipients, {"type": "session.close"}))


def _send_to_groups(user_ids, message):
    if not user_ids:
        return
    layer = get_channel_layer()
    try:
        if isinstance(layer, InMemoryChannelLayer):  # lives on the consumers' loop: send from there
            async_to_sync(_send_all)(layer, list(user_ids), message)
        else:
            _sender_loop().submit(layer, list(user_ids), message)
    except Exception:  # e.g. called from a thread running an event loop; clients resync over REST
        logger.exception("Could not send %s to %d users", message["type"], len(user_ids))


class _SenderLoop:
    """One event loop thread per process that sends for sync code (Celery tasks, views, services
    on the consumers' thread pool).

    async_to_sync outside an event loop starts a new loop for every call, and channels_redis
    opens new connections for every loop: ~4 ms per send. This loop keeps its connections.
    Callers don't wait for Redis (a message's sender would otherwise wait for every member's
    event); sends leave one at a time in the order they were queued, so a user's events keep
    their order, and whatever is queued at exit still goes out.
    """

    DRAIN_SECONDS = 5

    def __init__(self):
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.queue = asyncio.Queue()
        threading.Thread(target=self.loop.run_forever, name="channel-layer-sender", daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._send_queued(), self.loop)
        atexit.register(self.drain)

    def submit(self, layer, user_ids, message):
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (layer, user_ids, message))

    async def _send_queued(self):
        while True:
            item = await self.queue.get()
            try:
                await _send_all(*item)
            except Exception:  # the commit stands; clients resync over REST
                logger.exception("Sender loop: %r failed", item[2]["type"])
            finally:
                self.queue.task_done()

    def drain(self):
        """Wait until everything queued so far is sent (at exit; tests)."""
        if self.pid == os.getpid():
            asyncio.run_coroutine_threadsafe(self.queue.join(), self.loop).result(self.DRAIN_SECONDS)


_sender = None
_sender_lock = threading.Lock()


def _sender_loop():
    global _sender
    with _sender_lock:
        if _sender is None or _sender.pid != os.getpid():  # a forked worker needs its own thread
            _sender = _SenderLoop()
        return _sender


async def _send_all(layer, user_ids, message):
    # One event loop hop for the lot (a fan-out batch may hold hundreds of users).
    if hasattr(layer, "group_send_many"):  # Redis: a few round trips for all of them
        try:
            await layer.group_send_many([user_group(user_id) for user_id in user_ids], message)
        except Exception as exc:  # the commit stands; clients resync over REST
            logger.error("Could not send %s to %d users: %r", message["type"], len(user_ids), exc)
        return
    for start in range(0, len(user_ids), 50):
        chunk = user_ids[start : start + 50]
        results = await asyncio.gather(
            *(layer.group_send(user_group(user_id), message) for user_id in chunk), return_exceptions=True
        )
        for user_id, result in zip(chunk, results, strict=True):
            if isinstance(result, Exception):  # the commit stands; clients resync over REST
                logger.error("Could not send %s to user %s: %r", message["type"], user_id, result)

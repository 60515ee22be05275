"""This process's open sockets and listeners: kept alive together, cleaned up when they close.

A socket (or an SSE stream, a long-poll) `join`s when it opens: it enters its groups and its user
is marked online. From then on one task per process renews everything it holds: each second, the
entries last renewed HEARTBEAT seconds ago get their group memberships re-added (one script per
Redis node), their users marked online (one ZADD) and their users' last_active recorded (one
UPDATE). That replaced a task per socket, each hopping to Channels' one database thread for a
Redis write and a query: with thousands of sockets they queued behind each other and behind
socket auth. Renewals are spread over the minute as the connects were.

Memberships expire (CHANNEL_LAYERS group_expiry, a few heartbeats) unless renewed, so one whose
socket is gone without a `group_discard` (a clean-up that failed for good, a killed process) stops
receiving events within minutes, not channels_redis's day: that is the sweep.

`leave` queues the clean-up of a closed socket; one task per process runs what is queued in
batches: the group discards of up to BATCH sockets in one Redis pipeline, then their disconnect
hooks, at most CLEANUP_CONCURRENCY at once; every step is retried after RETRY_PAUSES. A thousand
sockets closing at once are a few round trips, not a thousand, and nothing is cut short by Daphne
killing a consumer that disconnects for too long: the consumer waits LEAVE_WAIT at most, and a
shutdown waits for the queue (socialsite.serve).
"""

import asyncio
import collections
import contextlib
import functools
import logging
import time
import weakref

from socialsite.realtime import collector, presence
from socialsite.realtime.threads import in_thread_pool

logger = logging.getLogger(__name__)

TICK = 1.0  # seconds between renewal rounds
BATCH = 1000  # memberships renewed per Redis script call, sockets cleaned up per pipeline
CLEANUP_CONCURRENCY = 32  # disconnect hooks running at once per process
RETRY_PAUSES = (0.2, 1.0, 3.0)  # seconds before each retry of a failed step
LEAVE_WAIT = 5.0  # seconds a disconnect waits for its clean-up (Daphne kills it at 10)


class _Entry:
    __slots__ = ("groups", "layer", "renewed", "user_id")

    def __init__(self, layer, user_id, groups, renewed):
        self.layer = layer
        self.user_id = str(user_id)
        self.groups = tuple(groups)
        self.renewed = renewed


class Heartbeat:
    """The open sockets of one event loop (Daphne has one), oldest renewal first."""

    def __init__(self):
        self.entries = {}  # channel name -> _Entry; insertion order is renewal order
        self.joined = set()  # users who joined since the last round: their last_active is due
        self.gate = asyncio.Semaphore(CLEANUP_CONCURRENCY)
        self.task = None
        self.refreshing = None  # a future while memberships are re-added; discards wait for it
        self.marking = None  # (user ids, future): the connects' presence marks being collected
        self.closed = []  # (layer, channel, groups, hooks, future) waiting for the cleaner
        self.cleaner = None

    # --- renewals ---------------------------------------------------------------------------

    def add(self, layer, channel, user_id, groups):
        self.entries[channel] = _Entry(layer, user_id, groups, time.time())
        self.joined.add(str(user_id))
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self):
        try:
            while self.entries:
                await asyncio.sleep(TICK)
                try:
                    await self.renew_due(time.time())
                except Exception:  # a bad round must not end the renewals
                    logger.exception("Socket heartbeat round failed")
        finally:
            self.task = None

    async def renew_due(self, now):
        due = []
        cutoff = now - presence.HEARTBEAT
        for channel, entry in self.entries.items():
            if entry.renewed > cutoff:
                break
            due.append((channel, entry))
        for channel, entry in due:  # to the back of the line, renewed now (or tried: next time again)
            del self.entries[channel]
            entry.renewed = now
            self.entries[channel] = entry
        for start in range(0, len(due), BATCH):
            # Not the sockets that closed during the chunks before: that would re-add their memberships.
            chunk = [(channel, entry) for channel, entry in due[start : start + BATCH] if channel in self.entries]
            self.refreshing = asyncio.get_running_loop().create_future()
            try:
                await _refresh(chunk)
            except Exception as exc:  # the memberships hold for a few more heartbeats: next time
                logger.warning("Could not renew %d socket memberships (%r)", len(chunk), exc)
            finally:
                self.refreshing.set_result(None)
                self.refreshing = None
        online = {entry.user_id for _, entry in due}
        active, self.joined = self.joined | online, set()
        if active:
            await in_thread_pool(_mark)(online, active)

    async def mark_online(self, user_id):
        """Mark the user online now; the connects of one moment share one ZADD (and one thread hop)."""
        if self.marking is None:
            self.marking = (set(), asyncio.get_running_loop().create_future())
            asyncio.get_running_loop().create_task(self._mark_collected(self.marking))
        users, done = self.marking
        users.add(str(user_id))
        await asyncio.shield(done)

    async def _mark_collected(self, marking):
        await asyncio.sleep(0)  # the other connects of this moment join in
        self.marking = None
        users, done = marking
        try:
            await in_thread_pool(presence.set_online)(users)
        finally:
            done.set_result(None)

    # --- clean-up ---------------------------------------------------------------------------

    def queue_clean_up(self, layer, channel, groups, hooks):
        done = asyncio.get_running_loop().create_future()
        self.closed.append((layer, channel, tuple(groups), hooks, done))
        if self.cleaner is None:
            self.cleaner = asyncio.get_running_loop().create_task(self._clean())
        return done

    async def _clean(self):
        try:
            while self.closed:
                await asyncio.sleep(0)  # the other closes of this moment join the batch
                batch, self.closed = self.closed[:BATCH], self.closed[BATCH:]
                try:
                    await self.clean_up(batch)
                except Exception:  # never leave a socket's disconnect waiting
                    logger.exception("Socket clean-up failed")
                finally:
                    for *_, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self.cleaner = None

    async def clean_up(self, batch):
        if self.refreshing is not None:  # a renewal in flight could re-add what is discarded here
            await asyncio.shield(self.refreshing)
        by_layer = collections.defaultdict(list)
        for layer, channel, groups, _, _ in batch:
            by_layer[layer].extend((group, channel) for group in groups)
        for layer, pairs in by_layer.items():
            if hasattr(layer, "group_discard_many"):  # the Redis layer: one pipeline per node
                step = functools.partial(layer.group_discard_many, pairs)
                await self.retrying(f"leaving {len(pairs)} groups", step)
            else:
                for group, channel in pairs:
                    await self.retrying(f"leaving {group}", functools.partial(layer.group_discard, group, channel))
        await asyncio.gather(*(self.run_hook(hook) for *_, hooks, _ in batch for hook in hooks))

    async def run_hook(self, hook):
        name = getattr(getattr(hook, "func", hook), "__name__", hook)  # hooks come as partials
        await self.retrying(f"disconnect hook {name}", hook, gate=True)

    async def retrying(self, what, step, *, gate=False, final=False):
        """await step(), retried; after the last failure log an ERROR (final: raise)."""
        for attempt, pause in enumerate((*RETRY_PAUSES, None)):
            try:
                if not gate:
                    return await step()
                async with self.gate:
                    return await step()
            except Exception as exc:
                if pause is None:
                    if final:
                        raise
                    logger.error("Socket clean-up: %s failed %d times (%r); left to expire", what, attempt + 1, exc)
                    return None
                logger.warning("Socket clean-up: %s failed (%r); again in %.1f s", what, exc, pause)
                await asyncio.sleep(pause)


def _mark(online, active):
    presence.set_online(online)
    presence.touch_active(active)


async def _refresh(due):
    """Re-add these (channel, entry) memberships: one call per layer (group_add_many: one script per
    Redis node), else group_add each."""
    by_layer = collections.defaultdict(list)
    for channel, entry in due:
        by_layer[entry.layer].extend((group, channel) for group in entry.groups)
    for layer, pairs in by_layer.items():
        if hasattr(layer, "group_add_many"):
            await layer.group_add_many(pairs)
        else:  # the in-memory layer: no round trips to save
            for group, channel in pairs:
                await layer.group_add(group, channel)


_heartbeats: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Heartbeat] = (
    weakref.WeakKeyDictionary()
)  # event loop -> its Heartbeat


def _current():
    loop = asyncio.get_running_loop()
    heartbeat = _heartbeats.get(loop)
    if heartbeat is None:
        heartbeat = _heartbeats[loop] = Heartbeat()
    return heartbeat


async def join(layer, channel, user_id, groups):
    """Add the channel to its groups and mark its user online (both done when this returns); from
    then on the process keeps them renewed until `leave`. Raises if the groups can't be joined."""
    heartbeat = _current()
    for group in groups:
        await heartbeat.retrying(f"joining {group}", functools.partial(layer.group_add, group, channel), final=True)
    await heartbeat.mark_online(user_id)
    heartbeat.add(layer, channel, user_id, groups)
    collector.socket_opened()


async def leave(layer, channel, groups, hooks=()):
    """Stop renewing; leave the groups and run the hooks (`async def hook()`, idempotent): batched,
    bounded and retried by the process's cleaner. Waits for that at most LEAVE_WAIT seconds: with
    20,000 sockets closing together, a disconnect that waited its turn ran past Daphne's 10 s and
    was killed; the clean-up goes on all the same."""
    heartbeat = _current()
    if heartbeat.entries.pop(channel, None) is not None:
        collector.socket_closed()
    done = heartbeat.queue_clean_up(layer, channel, groups, hooks)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(done), LEAVE_WAIT)


def cleaning():
    """Clean-ups queued or running in this process (a shutdown waits for them)."""
    return sum(len(h.closed) + (h.cleaner is not None) for h in list(_heartbeats.values()))

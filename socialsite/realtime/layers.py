"""Channel layers that never lose an event silently, and the Redis one's `group_send_many`.

A socket's queue is bounded in size and in age (settings.CHANNEL_LAYERS, docs/realtime.md "Gaps
and resync"). Channels drops what doesn't fit, or what waited too long, and says so at most at
INFO. Here a drop leaves a marker in the queue instead, `{"type": "session.gap"}`, which the
consumer turns into a `session.resync` frame: the client fetches what it missed over REST. Every
drop is counted (`DROPS`) and logged as a WARNING (at most one line per kind every WARN_EVERY
seconds, with the count of the others). Where events can be dropped:

- Redis, a process's queue over capacity (all sockets of one Daphne share one sorted set,
  `<prefix>specific.<process>!`): the send script queues a marker for the sockets that lost it;
- Redis, events older than `expiry` (the process fell that far behind, or died): the script
  removes them, as channels_redis does, and queues one marker that reaches every socket of that
  process;
- one socket's in-process buffer, when its consumer falls behind the process's reader
  (channels_redis's BoundedQueue dropped the oldest without a word);
- the embedded default's in-memory layer, whose group_send swallows ChannelFull.

`group_send_many`: a fan-out batch tells up to a thousand followers that a post arrived;
`group_send` costs about four Redis round trips per group. Here all the groups' members are read
in one pipeline per Redis node, then the message goes to every channel found with one script per
node: two round trips in all on one node. With several Redis servers (CHANNEL_REDIS_URLS) groups
and process queues are spread over them by channels_redis's hash of their names; every step here
groups its keys by that hash. The channel-key mapping and the script are group_send's
own (`channels_redis.core.RedisChannelLayer.group_send`, pinned in requirements.txt).
"""

import asyncio
import collections
import functools
import logging
import time

from channels import layers
from channels.exceptions import ChannelFull
from channels_redis import core
from redis.asyncio import BlockingConnectionPool

from socialsite import metrics

logger = logging.getLogger(__name__)

GAP = "session.gap"  # the marker's type: RealtimeConsumer.session_gap sends session.resync
WARN_EVERY = 10.0  # seconds between two drop warnings of one kind, per layer

# Events lost to a full or stale queue since the process started, by where (also on /metrics,
# socialsite_channel_layer_drops_total). "redis", "socket_buffer" and "memory" count sockets that
# missed an event; "redis_expired" counts queue entries (each was for one or more sockets).
DROPS: collections.Counter[str] = collections.Counter()


def gap_marker(reason="overflow"):
    return {"type": GAP, "reason": reason}


class _Warnings:
    """Drop warnings, at most one per kind every WARN_EVERY seconds, each with the count since."""

    def __init__(self):
        self.last = {}

    def drop(self, where, count, text, *args):
        DROPS[where] += count
        DROPS["total"] += count
        metrics.CHANNEL_DROPS.labels(where).inc(count)
        now = time.monotonic()
        last, since = self.last.get(where, (None, 0))
        since += count
        if last is not None and now - last < WARN_EVERY:
            self.last[where] = (last, since)
            return
        self.last[where] = (now, 0)
        logger.warning(f"{text}; those sockets resync ({where}: {since} lost since the last warning)", *args)


# channels_redis 4.3's group_send script, changed so that nothing is dropped without a marker:
# - events older than expiry are removed first (group_send does that in a round trip of its own)
#   and the process-wide marker (for every socket of that process) is queued. Not again for the
#   next `expiry` seconds (KEYS[n + i] holds when): what expires then was sent before it, and so
#   is in what its sockets fetch when they read it;
# - a full queue gets the gap marker of the channels this event was for, instead of the event.
# Markers are queued with score 0: first in line (the client resyncs now, not after the backlog
# that caused the drop), and never expired. They have no random prefix, so a marker for the same
# channels is the same member: one stands for any number of drops until it is read.
# KEYS: the queues, then their marker-time keys. ARGV: events, capacities, markers (one each per
# queue), the process-wide marker, expired_before, now, expiry.
# Returns {indexes of full queues, {index, events expired}...}.
SEND_LUA = """
local n = #KEYS / 2
local everyone = ARGV[3 * n + 1]
local expired_before = ARGV[3 * n + 2]
local current_time = ARGV[3 * n + 3]
local expiry = ARGV[3 * n + 4]
local full, expired = {}, {}
for i=1,n do
    local gone = redis.call('ZREMRANGEBYSCORE', KEYS[i], '(0', expired_before)
    if gone > 0 then
        local told_at = redis.call('GET', KEYS[n + i])
        if not told_at or tonumber(told_at) <= tonumber(expired_before) then
            redis.call('ZADD', KEYS[i], 0, everyone)
            redis.call('SET', KEYS[n + i], current_time, 'EX', expiry)
        end
        expired[#expired + 1] = {i, gone}
    end
    if redis.call('ZCARD', KEYS[i]) < tonumber(ARGV[n + i]) then
        redis.call('ZADD', KEYS[i], current_time, ARGV[i])
    else
        redis.call('ZADD', KEYS[i], 0, ARGV[2 * n + i])
        full[#full + 1] = i
    end
    redis.call('EXPIRE', KEYS[i], expiry)
end
return {full, expired}
"""


# group_add for many (group, channel) pairs: the membership scored now, the group key's expiry pushed
# out. KEYS: group keys. ARGV: the channel for each key, then now, then group_expiry.
GROUP_ADD_LUA = """
local n = #KEYS
for i = 1, n do
    redis.call('ZADD', KEYS[i], ARGV[n + 1], ARGV[i])
    redis.call('EXPIRE', KEYS[i], ARGV[n + 2])
end
return n
"""


class _SocketBuffer(asyncio.Queue):
    """One socket's events, read from Redis but not yet taken by its consumer.

    channels_redis's BoundedQueue drops the oldest when full, without a word. This one drops it
    too (memory stays bounded) and hands the consumer a gap marker ahead of what is left, once per
    run of losses: the client resyncs at once, and whatever it fetches was committed before.
    """

    def __init__(self, maxsize, warnings):
        super().__init__(maxsize)
        self.warnings = warnings
        self.lost = False

    def put_nowait(self, item):
        if self.full():
            super().get_nowait()
            self.lost = True
            self.warnings.drop(
                "socket_buffer", 1, "A socket's buffer is full (%d): dropped its oldest event", self.maxsize
            )
        super().put_nowait(item)

    def get_nowait(self):
        if self.lost:
            self.lost = False
            return gap_marker()
        return super().get_nowait()


class RedisChannelLayer(core.RedisChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.warnings = _Warnings()
        self.receive_buffer = collections.defaultdict(functools.partial(_SocketBuffer, self.capacity, self.warnings))
        self.local_groups = collections.defaultdict(set)  # this process's channels -> their groups

    def consistent_hash(self, value):
        """The server of a group or channel. channels_redis's send() hashes a process-specific
        channel's whole name and receive() only its process part (`specific.<process>!`), so with
        several servers (CHANNEL_REDIS_URLS) a direct send() could land where nobody reads: here
        both hash the process part, as group sends already did."""
        if "!" in value:
            value = self.non_local_name(value)
        return super().consistent_hash(value)

    def create_pool(self, index):
        """A pool that waits for a free connection: channels_redis's raises "Too many connections" at
        its cap, and 1,000 sockets closing at once lost most of their group_discards that way.
        `max_connections` and `timeout` (seconds to wait) come from the host's settings."""
        host = dict(self.hosts[index])
        if "address" not in host:  # sentinels: channels_redis's own pool
            return super().create_pool(index)
        return BlockingConnectionPool.from_url(host.pop("address"), **host)

    async def group_discard_many(self, pairs):
        """group_discard(group, channel) for each (group, channel): one pipeline per Redis node, for a
        mass disconnect (socialsite/realtime/heartbeat.py) that would otherwise cost a round trip each."""
        by_node = collections.defaultdict(list)
        for group, channel in pairs:
            groups = self.local_groups.get(channel)  # as group_discard: forgotten here first
            if groups is not None:
                groups.discard(group)
                if not groups:
                    del self.local_groups[channel]
            by_node[self.consistent_hash(group)].append((self._group_key(group), channel))
        for index, members in by_node.items():
            pipe = self.connection(index).pipeline(transaction=False)
            for key, channel in members:
                pipe.zrem(key, channel)
            await pipe.execute()

    async def group_add_many(self, pairs):
        """group_add(group, channel) for each (group, channel): one script per Redis node. The
        process's heartbeat renews its sockets' memberships with it (socialsite/realtime/heartbeat.py)."""
        by_node = collections.defaultdict(lambda: ([], []))
        for group, channel in pairs:
            keys, channels = by_node[self.consistent_hash(group)]
            keys.append(self._group_key(group))
            channels.append(channel)
        now = time.time()
        for index, (keys, channels) in by_node.items():
            await self.connection(index).eval(GROUP_ADD_LUA, len(keys), *keys, *channels, now, self.group_expiry)

    # Every socket of this process is in a group: that is how the process-wide marker finds them.
    async def group_add(self, group, channel):
        await super().group_add(group, channel)
        if self.non_local_name(channel) == f"specific.{self.client_prefix}!":
            self.local_groups[channel].add(group)

    async def group_discard(self, group, channel):
        groups = self.local_groups.get(channel)  # forgotten here first, even if Redis fails below
        if groups is not None:
            groups.discard(group)
            if not groups:
                del self.local_groups[channel]
        await super().group_discard(group, channel)

    async def receive_single(self, channel):
        name, message = await super().receive_single(channel)
        if message.get("type") == GAP and name == channel:  # the process-wide marker: to every socket here
            return list(self.local_groups), message
        return name, message

    async def group_send(self, group, message):
        """channels_redis's group_send, with the gap markers."""
        await self.group_send_many([group], message)

    def _marker_bytes(self, serialized):
        """A marker as queued: the random prefix (there for uniqueness in the sorted set) zeroed,
        so that a second one for the same channels is the same member."""
        length = self._serializer.random_prefix_length
        return bytes(length) + serialized[length:]

    async def group_send_many(self, groups, message):
        """group_send(group, message) for each of these groups, in a few round trips."""
        metrics.CHANNEL_SENDS.labels("redis").inc(len(groups))
        members = set()
        by_node = collections.defaultdict(list)
        for group in groups:
            assert self.require_valid_group_name(group), "Group name not valid"
            by_node[self.consistent_hash(group)].append(self._group_key(group))
        gone = int(time.time()) - self.group_expiry
        for index, keys in by_node.items():
            pipe = self.connection(index).pipeline(transaction=False)
            for key in keys:
                pipe.zremrangebyscore(key, min=0, max=gone)
                pipe.zrange(key, 0, -1)
            replies = await pipe.execute()
            members.update(name.decode("utf8") for found in replies[1::2] for name in found)
        if not members:
            return
        channels = sorted(members)
        by_connection, key_to_message, key_to_capacity = self._map_channel_keys_to_connection(channels, message)
        # One key per process holds all its sockets' events; a marker names the same channels.
        _, key_to_marker, _ = self._map_channel_keys_to_connection(channels, gap_marker())
        sockets = collections.Counter(self.prefix + self.non_local_name(channel) for channel in channels)
        everyone = self._marker_bytes(self.serialize(gap_marker("expired")))
        for index, channel_keys in by_connection.items():
            now = time.time()
            args = [
                *(key_to_message[key] for key in channel_keys),
                *(key_to_capacity[key] for key in channel_keys),
                *(self._marker_bytes(key_to_marker[key]) for key in channel_keys),
                *(everyone, int(now) - int(self.expiry), now, self.expiry),
            ]
            keys = [*channel_keys, *(f"{key}$gap" for key in channel_keys)]
            full, expired = await self.connection(index).eval(SEND_LUA, len(keys), *keys, *args)
            event = message.get("event") or message.get("type")
            if full:
                count = sum(sockets[channel_keys[i - 1]] for i in full)
                self.warnings.drop(
                    "redis", count, "%s dropped for %d sockets: their process's queue is full", event, count
                )
            if expired:
                count = sum(entries for _, entries in expired)
                self.warnings.drop(
                    "redis_expired", count, "%d events waited over %d s for a process, dropped", count, self.expiry
                )


class InMemoryChannelLayer(layers.InMemoryChannelLayer):
    """Channels' in-process layer (the embedded default), with the gap marker for a full channel.

    Its group_send swallows ChannelFull: the event is lost for that socket without a word. Here the
    channel is remembered, and its next receive() is the marker, ahead of what is queued.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.warnings = _Warnings()
        self.lost = set()

    async def group_send(self, group, message):
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        metrics.CHANNEL_SENDS.labels("memory").inc()
        self._clean_expired()
        for channel in list(self.groups.get(group, {})):
            try:
                await self.send(channel, message)
            except ChannelFull:
                self.lost.add(channel)
                event = message.get("event") or message.get("type")
                self.warnings.drop("memory", 1, "A socket's queue is full (%d): dropped %s", self.capacity, event)

    def _clean_expired(self):
        # Channels' own drops an expired event and then the channel from all its groups: every
        # later event would be lost too. Here the event goes, the socket is told, and it stays.
        for channel, queue in list(self.channels.items()):
            while not queue.empty() and queue._queue[0][0] < time.time():
                queue.get_nowait()
                self.lost.add(channel)
                self.warnings.drop("memory", 1, "An event waited over %d s for a socket, dropped", self.expiry)
                if queue.empty():  # only one this emptied: a waiting receive() holds an empty one
                    self.channels.pop(channel, None)
        super()._clean_expired()  # what is left: group memberships past group_expiry

    async def receive(self, channel):
        if channel in self.lost:
            self.lost.discard(channel)
            return gap_marker()
        return await super().receive(channel)

    async def group_discard(self, group, channel):
        await super().group_discard(group, channel)
        self.lost.discard(channel)  # the socket is closing

    async def flush(self):
        await super().flush()
        self.lost = set()

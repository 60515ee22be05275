"""channels_redis's layer plus `group_send_many`: one event to many users' groups at once.

A fan-out batch tells up to a thousand followers that a post arrived; `group_send` costs about
four Redis round trips per group. Here all the groups' members are read in one pipeline per
Redis node, then the message goes to every channel found with one script per node: two round
trips in all on one node. The channel-key mapping and the script are group_send's own
(`channels_redis.core.RedisChannelLayer.group_send`, pinned in requirements.txt).
"""

import collections
import logging
import time

from channels_redis import core

logger = logging.getLogger(__name__)

# channels_redis 4.3's group_send script: queue each channel's message unless it is full. It also
# drops the channel's expired messages first, which group_send does in a round trip of its own.
SEND_LUA = """
local over_capacity = 0
local expired_before = ARGV[#ARGV - 2]
local current_time = ARGV[#ARGV - 1]
local expiry = ARGV[#ARGV]
for i=1,#KEYS do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, expired_before)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
        redis.call('ZADD', KEYS[i], current_time, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


class RedisChannelLayer(core.RedisChannelLayer):
    async def group_send_many(self, groups, message):
        """group_send(group, message) for each of these groups, in a few round trips."""
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
        by_connection, key_to_message, key_to_capacity = self._map_channel_keys_to_connection(sorted(members), message)
        for index, channel_keys in by_connection.items():
            args = [key_to_message[key] for key in channel_keys] + [key_to_capacity[key] for key in channel_keys]
            now = time.time()
            full = await self.connection(index).eval(
                SEND_LUA, len(channel_keys), *channel_keys, *args, int(now) - int(self.expiry), now, self.expiry
            )
            if full:
                logger.info("%s of %s channels over capacity", full, len(channel_keys))

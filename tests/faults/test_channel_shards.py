"""The channel layer sharded over two plain Redis servers (CHANNEL_REDIS_URLS; channels-redis
can't use a Redis Cluster): groups and each process's queue go to the server their name hashes
to, and events, memberships and drop counts work across both.

Two layer objects stand for two web processes (each has its own process queue,
`specific.<process>!`) and a third for the worker that sends; their sockets are channels
read through the layer API, the path a consumer's socket takes.
"""

import asyncio
import itertools
import uuid

import pytest
from channels_redis import core

from socialsite.realtime import layers
from tests.faults import engines


@pytest.fixture
def shards(tmp_path, fault_engines):
    servers = [engines.RedisServer(tmp_path, name=f"shard-{n}") for n in range(2)]
    for server in servers:
        fault_engines.append(server)
        server.start()
    yield servers
    for server in servers:
        server.kill()  # nothing to keep


def make_layer(shards, **config):
    """A layer configured as settings.py does with CHANNEL_REDIS_URLS set to both servers."""
    hosts = [{"address": s.url(), "socket_timeout": 15, "max_connections": 30, "timeout": 10} for s in shards]
    options = {"group_expiry": 300, "prefix": "socialsite:ws", "capacity": 500, "expiry": 60}
    options["channel_capacity"] = {"specific.*": config.pop("process_capacity", 2000)}
    return layers.RedisChannelLayer(hosts=hosts, **options, **config)


def process_on(shards, index, **config):
    """A layer (a web process) whose queue lives on shard `index`."""
    while True:
        layer = make_layer(shards, **config)
        if layer.consistent_hash(f"specific.{layer.client_prefix}!") == index:
            return layer


def groups_on(layer, index, count):
    """`count` user groups that live on shard `index`."""
    names = (f"user.{uuid.uuid4()}" for _ in itertools.count())
    return list(itertools.islice((g for g in names if layer.consistent_hash(g) == index), count))


async def receive_all(layer, channel, wait=0.5):
    """What arrives for this channel until it is quiet for `wait` seconds (5 for the first: it
    was queued before, and a loaded machine may be slow to hand it over)."""
    got = []
    while True:
        try:
            got.append(await asyncio.wait_for(layer.receive(channel), wait if got else 5))
        except TimeoutError:
            return got


def event(n):
    return {"type": "event.push", "event": "test.n", "data": {"n": n}}


def test_group_events_reach_sockets_of_processes_on_both_shards(shards):
    async def scenario():
        web = [process_on(shards, 0), process_on(shards, 1)]
        worker = make_layer(shards)
        g0, g1 = groups_on(worker, 0, 2), groups_on(worker, 1, 2)
        sockets = {(p, n): await web[p].new_channel() for p in (0, 1) for n in (0, 1)}
        # Each process has a socket in a group of each shard; (1, 1) is in two groups.
        members = {
            (0, 0): [g0[0]],
            (0, 1): [g1[0]],
            (1, 0): [g0[1]],
            (1, 1): [g1[1], g0[0]],
        }
        for socket, groups in members.items():
            p, _ = socket
            for group in groups[:1]:
                await web[p].group_add(group, sockets[socket])
        # The heartbeat's renewal path: one script per server for the rest.
        await web[1].group_add_many([(members[(1, 1)][1], sockets[(1, 1)])])

        group_keys = [{key.decode() for key in s.client().keys("socialsite:ws:group:*")} for s in shards]
        assert group_keys == [
            {f"socialsite:ws:group:{g}" for g in (g0[0], g0[1])},
            {f"socialsite:ws:group:{g}" for g in (g1[0], g1[1])},
        ]

        await worker.group_send_many([*g0, *g1], event(1))
        received = [receive_all(web[socket[0]], channel) for socket, channel in sockets.items()]
        got = dict(zip(sockets, await asyncio.gather(*received), strict=True))

        # A direct send to one socket goes to the server its process reads.
        direct = await web[0].new_channel()
        while core.RedisChannelLayer.consistent_hash(worker, direct) == 0:
            direct = await web[0].new_channel()  # one whose whole name hashes (channels_redis's send) elsewhere
        await worker.send(direct, event(2))
        sent_direct = await receive_all(web[0], direct)

        await web[1].group_discard_many([(g, sockets[(1, 1)]) for g in members[(1, 1)]])
        left = [
            shards[worker.consistent_hash(g)].client().zscore(f"socialsite:ws:group:{g}", sockets[(1, 1)])
            for g in members[(1, 1)]
        ]
        for layer in (*web, worker):
            await layer.flush()
        return got, sent_direct, left

    got, sent_direct, left = asyncio.run(scenario())
    assert got == {socket: [event(1)] for socket in got}  # every socket once, (1, 1) too
    assert sent_direct == [event(2)]
    assert left == [None, None]


def test_a_full_queue_on_the_second_shard_is_counted_and_marked(shards):
    async def scenario():
        web = process_on(shards, 1, process_capacity=3)
        worker = make_layer(shards, process_capacity=3)  # the sender applies the capacity
        (group,) = groups_on(worker, 0, 1)  # the group on one server, the queue on the other
        socket = await web.new_channel()
        await web.group_add(group, socket)
        before = layers.DROPS["redis"]
        for n in range(8):
            await worker.group_send_many([group], event(n))
        dropped = layers.DROPS["redis"] - before
        queued = shards[1].client().zcard(f"socialsite:ws{web.non_local_name(socket)}")
        got = await receive_all(web, socket)
        await web.flush()
        return dropped, queued, got

    dropped, queued, got = asyncio.run(scenario())
    assert dropped == 5
    assert queued == 4  # three events and one marker standing for the five drops
    assert got == [layers.gap_marker(), event(0), event(1), event(2)]

"""Timelines, the cache, rate limits, the auth cache, presence and a feed read on a 3-node Redis
Cluster the test starts (REDIS_CLUSTER, FEED_REDIS_CLUSTER; docs/operations.md "Redis at scale").

Each check looks at the nodes themselves: keys of different users landed on different nodes,
and every multi-key call (the fan-out script, get_many, set_many, delete_many) worked across them.
"""

import uuid

import pytest
from django.core.cache import cache, caches

from accounts import user_cache
from feeds.store import Entry, RedisClusterStore, RedisStore, Unavailable, author_key, get_store, home_key
from socialsite import ratelimit, safe_cache
from socialsite.realtime import presence
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_cluster(private_redis_cluster, settings):
    """Timelines, cache and presence on the cluster, as REDIS_CLUSTER=true sets them."""
    url = private_redis_cluster.url()
    settings.FEED_REDIS_URL, settings.FEED_REDIS_CLUSTER = url, True
    settings.REDIS_URL, settings.REDIS_CLUSTER = url, True
    settings.CACHES = {
        "default": {"BACKEND": "socialsite.cache.ClusterRedisCache", "LOCATION": url, "KEY_PREFIX": "socialsite"}
    }
    settings.AUTH_USER_CACHE_SECONDS = 120
    return private_redis_cluster


def spread(cluster, keys):
    """{node: how many of these keys it holds}, checked against where each key's slot lives."""
    held = cluster.keys()
    for key in keys:
        assert key in held[cluster.node_of(key)], key
    return {node: len(found & set(keys)) for node, found in held.items()}


def test_timelines_on_a_cluster_push_read_trim_remove_and_rebuild(on_cluster):
    store = get_store()
    assert isinstance(store, RedisClusterStore)
    users = [str(uuid.uuid4()) for _ in range(40)]
    keys = [home_key(u) for u in users]
    for key in keys[:30]:  # built; the other 10 were never read
        store.replace(key, [Entry(1, "old")], cap=3, ttl=600)

    # The fan-out script on keys of many slots: one call per slot, so no CROSSSLOT; the first one
    # also loads the script on each node (NOSCRIPT, then SCRIPT LOAD on every primary).
    assert store.add_many(keys, [Entry(5, "p5"), Entry(4, "p4")], cap=3) == 30
    assert all(spread(on_cluster, keys[:30]).values())  # on every node ((2/3)^30 that one has none)
    assert not any(on_cluster.keys("feed:home:*")[node] & set(keys[30:]) for node in on_cluster.nodes)
    assert [store.size(key) for key in keys[:30]] == [3] * 30  # trimmed to the cap, sentinel aside

    # A node that lost its scripts (restarted, new after a failover) gets it again.
    for node in on_cluster.nodes:
        node.client().script_flush()
    assert store.add_many(keys[:30], [Entry(6, "p6")], cap=3) == 30

    celebrity = str(uuid.uuid4())
    store.replace(author_key(celebrity), [Entry(3, "c3"), Entry(2, "c2")], cap=10)
    found = store.range_many([keys[0], author_key(celebrity), keys[35]], count=2, ttls={keys[0]: 900})
    assert found == [[Entry(6, "p6"), Entry(5, "p5")], [Entry(3, "c3"), Entry(2, "c2")], None]
    assert on_cluster.node_of(keys[0]).client().ttl(keys[0]) > 600  # renewed in the same round trip
    assert store.range_many([keys[0]], before=(5, "p5"), count=5) == [[Entry(4, "p4")]]
    assert store.range_many([keys[0]], after=(4, "p4"), count=5) == [[Entry(6, "p6"), Entry(5, "p5")]]

    store.remove_many(keys[:30], ["p6", "p5"])
    assert store.range_many(keys[:2], count=5) == [[Entry(4, "p4")], [Entry(4, "p4")]]
    assert store.memory_usage(keys[0]) > 0
    # A user's timelines share a slot (one hash tag per user).
    assert on_cluster.node_of(home_key(celebrity)) is on_cluster.node_of(author_key(celebrity))

    store.flush()  # every node's feed keys, as the tests' isolation does
    assert not any(on_cluster.keys("feed:*").values())

    # What every path did before issue 19: a plain client on a cluster node.
    with pytest.raises(Unavailable):
        RedisStore(on_cluster.url()).add_many(keys, [Entry(1, "x")], cap=3)


def test_the_cache_rate_limits_and_presence_on_a_cluster(on_cluster):
    assert type(caches["default"]).__name__ == "ClusterRedisCache"
    values = {f"cluster-test:{n}": {"n": n} for n in range(40)}
    cache.set_many(values, 60)
    stored = [f"socialsite:1:{key}" for key in values]
    assert all(count > 0 for count in spread(on_cluster, stored).values())
    assert cache.get_many([*values, "cluster-test:missing"]) == values
    assert 0 < on_cluster.node_of(stored[0]).client().ttl(stored[0]) <= 60
    cache.delete_many(list(values)[:30])
    assert cache.get_many(list(values)) == {key: values[key] for key in list(values)[30:]}
    cache.set_many({"cluster-test:0": 1, "cluster-test:31": 2}, 0)  # as Django's: removed
    assert cache.get_many(["cluster-test:0", "cluster-test:31"]) == {}

    assert cache.add("cluster-test:counter", 1, 60)
    assert not cache.add("cluster-test:counter", 5, 60)
    assert cache.incr("cluster-test:counter", 2) == 3
    assert cache.has_key("cluster-test:counter") and cache.touch("cluster-test:counter", 30)
    assert caches["default"].incr_with_expiry("cluster-test:window", 30) == 1

    for _ in range(3):
        ratelimit.hit("cluster-test", "ana", "3/m")
    with pytest.raises(ratelimit.RateLimitedError):
        ratelimit.hit("cluster-test", "ana", "3/m")
    ratelimit.hit("cluster-test", "bo", "3/m")  # another identity, its own counter

    safe_cache.forget(["cluster-test:counter", "cluster-test:33"])
    assert cache.get_many(["cluster-test:counter", "cluster-test:33"]) == {}
    cache.clear()  # FLUSHDB on every primary
    assert not any(on_cluster.keys().values())

    ids = [str(uuid.uuid4()) for _ in range(12)]
    presence.set_online(ids[:8])
    assert sorted(presence.online_among(ids)) == sorted(ids[:8])
    assert on_cluster.node_of("realtime:online").client().zcard("realtime:online") == 8


def test_the_auth_cache_reads_a_users_two_keys_from_one_node(on_cluster, django_assert_num_queries):
    user = UserFactory()
    assert user_cache.get(user.pk) == user
    with django_assert_num_queries(0):
        assert user_cache.get(user.pk).username == user.username
    version_key, data_key = (f"socialsite:1:{key}" for key in user_cache._keys(user.pk))
    assert on_cluster.node_of(version_key) is on_cluster.node_of(data_key)
    assert version_key in on_cluster.keys()[on_cluster.node_of(version_key)]

    type(user).objects.filter(pk=user.pk).update(first_name="Renamed")  # bumps the version
    with django_assert_num_queries(1):
        assert user_cache.get(user.pk).first_name == "Renamed"


def test_a_feed_read_through_the_api_on_a_cluster(on_cluster, settings, client_for, follow, post_by):
    settings.FEED_FANOUT_THRESHOLD = 3  # a celebrity from 3 followers: pulled from the author timeline
    author, celebrity, first = UserFactory(), UserFactory(), UserFactory()
    second = UserFactory()
    while on_cluster.node_of(home_key(second.pk)) is on_cluster.node_of(home_key(first.pk)):
        second = UserFactory()  # two readers whose timelines are on different nodes
    readers = [first, second]
    for reader in readers:
        follow(reader, author)  # 2 followers: pushed
        follow(reader, celebrity)
    follow(UserFactory(), celebrity)  # 3: pulled
    apis = [client_for(reader) for reader in readers]
    for api in apis:  # the first read builds each timeline from the database
        assert api.get("/api/v1/feed").json()["results"] == []

    pushed = post_by(author, "pushed")
    pulled = post_by(celebrity, "pulled")
    for api in apis:
        assert [p["id"] for p in api.get("/api/v1/feed").json()["results"]] == [str(pulled.pk), str(pushed.pk)]

    homes = [home_key(reader.pk) for reader in readers]
    assert len({node for node, count in spread(on_cluster, homes).items() if count}) >= 2
    for reader in readers:
        node = on_cluster.node_of(home_key(reader.pk))
        assert node.client().zscore(home_key(reader.pk), str(pushed.pk)) is not None  # pushed by fan-out
    assert on_cluster.node_of(author_key(celebrity.pk)).client().zscore(author_key(celebrity.pk), str(pulled.pk))


def test_a_dead_node_costs_its_users_reads_their_fallback(on_cluster, client_for, follow, post_by, caplog):
    """A primary killed (no replica to take over): a feed whose timeline was on it comes from
    PostgreSQL, its cache keys read as misses and its rate limits let calls through; the others
    keep their timelines. The node comes back with its slots (nodes.conf) for the next test."""
    author, on_dead, on_live = UserFactory(), UserFactory(), UserFactory()
    dead = on_cluster.node_of(home_key(on_dead.pk))
    while on_cluster.node_of(home_key(on_live.pk)) is dead:
        on_live = UserFactory()
    for reader in (on_dead, on_live):
        follow(reader, author)
        assert client_for(reader).get("/api/v1/feed").status_code == 200  # built
    made = post_by(author, "hello")
    dead.kill()
    try:
        caplog.set_level("WARNING")
        for reader in (on_dead, on_live):
            body = client_for(reader).get("/api/v1/feed").json()
            assert [p["id"] for p in body["results"]] == [str(made.pk)]
        assert any("feed store unavailable" in r.message and str(on_dead.pk) in r.message for r in caplog.records)
        assert not any("feed store unavailable" in r.message and str(on_live.pk) in r.message for r in caplog.records)
        key_on_dead = next(f"k{n}" for n in range(1000) if on_cluster.node_of(f"socialsite:1:k{n}") is dead)
        assert safe_cache.get_many([key_on_dead]) == {}
        ratelimit.hit("cluster-test", key_on_dead, "1/m")  # fails open: no error
    finally:
        dead.start()
        on_cluster.wait_settled()

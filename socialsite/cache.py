"""Django's Redis cache with one connection pool per process.

Django keeps a cache object per async context, and each object opens its own pool: under
Daphne every WebSocket consumer (a context that lives as long as its socket) held its own
Redis connection, so 5,000 sockets meant 5,000 connections. The clients here are shared by
every cache object of the process; redis-py's pool is thread-safe and resets after a fork.

Django also builds a new redis.Redis around the pool for every cache call; redis-py 8's
constructor (retry policy, response callbacks, event hooks) costs about as much as a round trip
on localhost, so each pool keeps one (a Redis object holds no connection of its own between
commands, and is safe to share between threads).

Every call is timed (`socialsite_cache_operation_seconds`) and reads count their hits and misses
in django-prometheus's `django_cache_get_*` series (backend "redis"), as its own backends do.

With REDIS_CLUSTER, `ClusterRedisCache` is the same on a Redis Cluster: one RedisCluster per
process (a pool per node), and get_many, set_many and delete_many, which Django sends as one
MGET, MSET or DEL that a cluster refuses across slots (CROSSSLOT), go to each slot's node in one
pipeline: a round trip per node, not atomic across slots (a cache doesn't need that).
"""

import functools
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django_prometheus.cache.metrics import (
    django_cache_get_fail_total,
    django_cache_get_total,
    django_cache_hits_total,
    django_cache_misses_total,
)
from prometheus_client import Histogram

CACHE_SECONDS = Histogram(
    "socialsite_cache_operation_seconds",
    "Time of a call to the Redis cache, by operation.",
    ["operation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
BACKEND = "redis"
_MISSING = object()
F = TypeVar("F", bound=Callable[..., Any])


def _timed(method: F) -> F:
    timer = CACHE_SECONDS.labels(method.__name__)

    @functools.wraps(method)
    def timed(*args: Any, **kwargs: Any) -> Any:
        with timer.time():
            return method(*args, **kwargs)

    return timed  # type: ignore[return-value]  # the same signature


_clients: dict[object, RedisCacheClient] = {}
_lock = threading.Lock()


class _Client(RedisCacheClient):
    # RedisCacheClient's, which the stub leaves out.
    _client: Any
    _get_connection_pool: Callable[[bool], Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis: dict[object, Any] = {}  # connection pool -> its redis.Redis

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._redis.get(pool)
        if client is None:
            client = self._redis.setdefault(pool, self._client(connection_pool=pool))
        return client


def cluster_client(url: str, **options: Any) -> Any:
    """A redis.cluster.RedisCluster from one node's URL (db 0; the other nodes are discovered).

    No retries, as on a single Redis: a node that is down or hung fails the call within the
    socket timeouts (redis-py's default, ten retries with backoff, held a request for seconds;
    one retry doubled the wait on a hung node: 1.0 s against 0.5 s for the timelines). The
    failure reloads the slot map, so after a failover only the calls in flight fail, and callers
    fall back (the feed to PostgreSQL, the cache to a miss). MOVED and ASK (slots being moved)
    are followed all the same."""
    from redis.backoff import NoBackoff
    from redis.cluster import RedisCluster
    from redis.retry import Retry

    return RedisCluster.from_url(url, retry=Retry(NoBackoff(), 0), **options)


class _ClusterClient(_Client):
    # RedisCacheClient's, which the stub leaves out.
    _servers: list[str]
    _pool_options: dict[str, Any]
    _serializer: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cluster: Any = None
        self._cluster_lock = threading.Lock()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        if self._cluster is None:  # made on first use: RedisCluster connects at once
            with self._cluster_lock:
                if self._cluster is None:
                    self._cluster = cluster_client(self._servers[0], **self._pool_options)
        return self._cluster

    def get_many(self, keys: Any) -> dict[Any, Any]:
        keys = list(keys)
        values = self.get_client(None).mget_nonatomic(keys)
        return {
            key: self._serializer.loads(value) for key, value in zip(keys, values, strict=True) if value is not None
        }

    def set_many(self, data: Mapping[Any, Any], timeout: Any) -> None:  # None too, which the stub leaves out
        pipe = self.get_client(None, write=True).pipeline(transaction=False)
        for key, value in data.items():
            if timeout == 0:  # as Django's: a timeout of 0 removes the key
                pipe.delete(key)
            else:
                pipe.set(key, self._serializer.dumps(value), ex=timeout)
        pipe.execute()


class SharedPoolRedisCache(RedisCache):
    # Set by RedisCache.__init__; the stub leaves them out.
    _servers: list[str]
    _options: dict[str, Any]
    client_class: type[_Client] = _Client

    @property
    def _cache(self) -> RedisCacheClient:
        key = (self.client_class, tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self.client_class(self._servers, **self._options)
        return client

    @_timed
    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        django_cache_get_total.labels(backend=BACKEND).inc()
        try:
            value = super().get(key, _MISSING, version)
        except Exception:
            django_cache_get_fail_total.labels(backend=BACKEND).inc()
            raise
        if value is _MISSING:
            django_cache_misses_total.labels(backend=BACKEND).inc()
            return default
        django_cache_hits_total.labels(backend=BACKEND).inc()
        return value

    @_timed
    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        keys = list(keys)
        django_cache_get_total.labels(backend=BACKEND).inc(len(keys))
        try:
            found: dict[Any, Any] = super().get_many(keys, version)
        except Exception:
            django_cache_get_fail_total.labels(backend=BACKEND).inc(len(keys))
            raise
        django_cache_hits_total.labels(backend=BACKEND).inc(len(found))
        django_cache_misses_total.labels(backend=BACKEND).inc(len(keys) - len(found))
        return found

    set = _timed(RedisCache.set)
    add = _timed(RedisCache.add)
    set_many = _timed(RedisCache.set_many)
    delete = _timed(RedisCache.delete)
    delete_many = _timed(RedisCache.delete_many)

    @_timed
    def incr_with_expiry(self, key: str, timeout: int) -> int:
        """Add one to a counter, made with this timeout on its first hit: one round trip."""
        key = self.make_and_validate_key(key)
        pipe = self._cache.get_client(key, write=True).pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, timeout, nx=True)
        count: int = pipe.execute()[0]
        return count


class ClusterRedisCache(SharedPoolRedisCache):
    """The cache on a Redis Cluster (REDIS_CLUSTER): LOCATION is one node's URL."""

    client_class = _ClusterClient

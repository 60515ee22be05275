"""Django's Redis cache with one connection pool per process.

Django keeps a cache object per async context, and each object opens its own pool: under
Daphne every WebSocket consumer (a context that lives as long as its socket) held its own
Redis connection, so 5,000 sockets meant 5,000 connections. The clients here are shared by
every cache object of the process; redis-py's pool is thread-safe and resets after a fork.

Django also builds a new redis.Redis around the pool for every cache call; redis-py 8's
constructor (retry policy, response callbacks, event hooks) costs about as much as a round trip
on localhost, so each pool keeps one (a Redis object holds no connection of its own between
commands, and is safe to share between threads).
"""

import threading
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

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


class SharedPoolRedisCache(RedisCache):
    # Set by RedisCache.__init__; the stub leaves them out.
    _servers: list[str]
    _options: dict[str, Any]

    @property
    def _cache(self) -> RedisCacheClient:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = _Client(self._servers, **self._options)
        return client

    def incr_with_expiry(self, key: str, timeout: int) -> int:
        """Add one to a counter, made with this timeout on its first hit: one round trip."""
        key = self.make_and_validate_key(key)
        pipe = self._cache.get_client(key, write=True).pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, timeout, nx=True)
        count: int = pipe.execute()[0]
        return count

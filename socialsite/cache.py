"""Django's Redis cache with one connection pool per process.

Django keeps a cache object per async context, and each object opens its own pool: under
Daphne every WebSocket consumer (a context that lives as long as its socket) held its own
Redis connection, so 5,000 sockets meant 5,000 connections. The clients here are shared by
every cache object of the process; redis-py's pool is thread-safe and resets after a fork.
"""

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_clients: dict[object, RedisCacheClient] = {}
_lock = threading.Lock()


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
                client = _clients[key] = RedisCacheClient(self._servers, **self._options)
        return client

    def incr_with_expiry(self, key: str, timeout: int) -> int:
        """Add one to a counter, made with this timeout on its first hit: one round trip."""
        key = self.make_and_validate_key(key)
        pipe = self._cache.get_client(key, write=True).pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, timeout, nx=True)
        count: int = pipe.execute()[0]
        return count

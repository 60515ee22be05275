"""socialsite/cache.py: the Redis cache shares one pool per process, and one client per pool."""

import os

import pytest
from django.core.cache import cache, caches

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the Redis cache needs REDIS_URL")


def test_every_call_uses_the_same_client_and_pool():
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client() is client
    assert caches.create_connection("default")._cache.get_client() is client  # another cache object
    cache.set("socialsite-cache-test", 1, 5)
    assert cache.incr("socialsite-cache-test") == 2
    assert cache.get("socialsite-cache-test") == 2
    assert caches["default"].incr_with_expiry("socialsite-cache-test:w", 5) == 1

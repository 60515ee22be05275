"""safe_cache.remember: a read-through that computes only on a miss."""

import uuid

from socialsite import safe_cache


def test_remember_computes_on_a_miss_and_serves_the_cached_value_after():
    key, calls = f"test-remember:{uuid.uuid4()}", []

    def compute():
        calls.append(1)
        return len(calls)

    assert safe_cache.remember(key, compute, 60) == 1
    assert safe_cache.remember(key, compute, 60) == 1
    assert calls == [1]
    safe_cache.delete(key)
    assert safe_cache.remember(key, compute, 60) == 2

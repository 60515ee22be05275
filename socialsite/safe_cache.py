"""The default cache, for data that can always be recomputed: an unreachable cache (Redis
down) reads as a miss and drops writes, with a log line, instead of failing the request."""

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)


def _down(operation: str, exc: Exception) -> None:
    logger.warning("cache unavailable for %s (%s: %s); going without", operation, exc.__class__.__name__, exc)


def get(key: str, default: Any = None) -> Any:
    try:
        return cache.get(key, default)
    except Exception as exc:
        _down("get", exc)
        return default


def get_many(keys: Iterable[str]) -> dict[str, Any]:
    try:
        return cache.get_many(keys)
    except Exception as exc:
        _down("get_many", exc)
        return {}


def remember(key: str, compute: Callable[[], Any], timeout: float | None) -> Any:
    """The cached value, else compute() stored for `timeout` (read-through; the value must not be None)."""
    value = get(key)
    if value is None:
        value = compute()
        set(key, value, timeout)
    return value


def set(key: str, value: Any, timeout: float | None) -> None:  # noqa: A001  (the cache's own name)
    try:
        cache.set(key, value, timeout)
    except Exception as exc:
        _down("set", exc)


def set_many(values: dict[str, Any], timeout: float | None) -> None:
    try:
        cache.set_many(values, timeout)
    except Exception as exc:
        _down("set_many", exc)


def add(key: str, value: Any, timeout: float | None) -> bool | None:
    """cache.add; None when the cache is down."""
    try:
        return cache.add(key, value, timeout)
    except Exception as exc:
        _down("add", exc)
        return None


def delete(key: str) -> None:
    try:
        cache.delete(key)
    except Exception as exc:
        _down("delete", exc)


def delete_many(keys: Iterable[str]) -> None:
    try:
        cache.delete_many(list(keys))
    except Exception as exc:
        _down("delete_many", exc)


def forget(keys: Iterable[str]) -> None:
    """Drop cached values a write in this transaction makes wrong: now, and again after the commit,
    in case a request read the old rows and cached them in between. A reader racing the commit
    can still put an old value back, so such values carry a short timeout too."""
    keys = list(keys)
    if not keys:
        return
    delete_many(keys)
    transaction.on_commit(lambda: delete_many(keys))

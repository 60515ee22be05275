"""The default cache, for data that can always be recomputed: an unreachable cache (Redis
down) reads as a miss and drops writes, with a log line, instead of failing the request."""

import logging
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache

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

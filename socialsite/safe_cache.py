"""The default cache, for data that can always be recomputed: an unreachable cache (Redis
down) reads as a miss and drops writes, with a log line, instead of failing the request."""

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)


def _down(operation, exc):
    logger.warning("cache unavailable for %s (%s: %s); going without", operation, exc.__class__.__name__, exc)


def get(key, default=None):
    try:
        return cache.get(key, default)
    except Exception as exc:
        _down("get", exc)
        return default


def get_many(keys):
    try:
        return cache.get_many(keys)
    except Exception as exc:
        _down("get_many", exc)
        return {}


def set(key, value, timeout):  # noqa: A001  (the cache's own name)
    try:
        cache.set(key, value, timeout)
    except Exception as exc:
        _down("set", exc)


def set_many(values, timeout):
    try:
        cache.set_many(values, timeout)
    except Exception as exc:
        _down("set_many", exc)


def add(key, value, timeout):
    """cache.add; None when the cache is down."""
    try:
        return cache.add(key, value, timeout)
    except Exception as exc:
        _down("add", exc)
        return None


def delete(key):
    try:
        cache.delete(key)
    except Exception as exc:
        _down("delete", exc)

"""Rate limits that services enforce themselves, for writes that arrive by more than one door
(REST and the socket): a fixed window per scope and identity in the shared cache.

Rates read like the THROTTLE_* settings: "30/m", "25/5m". With the cache down, limits fail
open, as the API throttles do.
"""

import logging
import time
from typing import Any

from django.core.cache import cache, caches

from socialsite.api.throttling import parse_rate
from socialsite.errors import ServiceError

logger = logging.getLogger(__name__)


class RateLimitedError(ServiceError):
    status_code = 429
    default_code = "throttled"

    def __init__(self, message: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


def _count(key: str, timeout: int) -> int:
    shared = getattr(caches["default"], "incr_with_expiry", None)  # Redis: one round trip
    if shared is not None:
        count: int = shared(key, timeout)
        return count
    if cache.add(key, 1, timeout):
        return 1
    return cache.incr(key)


def hit(scope: str, ident: object, rate: str, *, message: str = "Too many requests; slow down.") -> None:
    """Count one event; raise RateLimitedError once the window's count is spent."""
    count, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    key = f"ratelimit:{scope}:{ident}:{window}"
    try:
        used = _count(key, period + 1)
    except Exception as exc:
        logger.warning("rate limit %s skipped: cache unavailable (%s)", scope, exc)
        return
    if used > count:
        raise RateLimitedError(message, retry_after=max(1, int((window + 1) * period - now)))

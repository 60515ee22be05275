"""Rate limits that services enforce themselves, for writes that arrive by more than one door
(REST and the socket): a fixed window per scope and identity in the shared cache.

Rates read like the THROTTLE_* settings: "30/m", "25/5m". With the cache down, limits fail
open, as the API throttles do.
"""

import logging
import re
import time
from typing import Any, overload

from django.core.cache import cache, caches

from socialsite.errors import ServiceError

RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
logger = logging.getLogger(__name__)


@overload
def parse_rate(rate: str) -> tuple[int, int]: ...
@overload
def parse_rate(rate: None) -> tuple[None, None]: ...
def parse_rate(rate: str | None) -> tuple[int, int] | tuple[None, None]:
    """(count, period in seconds) of a rate like "25/5m"; (None, None) for no rate."""
    if rate is None:
        return (None, None)
    match = RATE_RE.match(rate)
    if not match:
        raise ValueError(f"Bad rate {rate!r}; expected e.g. '25/5m'.")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * UNIT_SECONDS[unit]


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


def window_hit(key: str, period: int, now: float | None = None) -> tuple[int, float]:
    """Count one event in the fixed window of `period` seconds that `now` falls in: (events in
    the window so far, this one included; seconds until the window ends). One round trip on
    Redis. Raises when the cache is down: callers fail open."""
    now = time.time() if now is None else now
    window = int(now // period)
    used = _count(f"{key}:{window}", period + 1)
    return used, (window + 1) * period - now


def hit(scope: str, ident: object, rate: str, *, message: str = "Too many requests; slow down.") -> None:
    """Count one event; raise RateLimitedError once the window's count is spent."""
    count, period = parse_rate(rate)
    try:
        used, left = window_hit(f"ratelimit:{scope}:{ident}", period)
    except Exception as exc:
        logger.warning("rate limit %s skipped: cache unavailable (%s)", scope, exc)
        return
    if used > count:
        raise RateLimitedError(message, retry_after=max(1, int(left)))

"""Rate limits for the API in the shared cache (Redis when REDIS_URL is set).

A fixed window per scope and identity (socialsite.ratelimit.window_hit): one counter per window,
bumped and given its expiry in one Redis round trip (in-process with the embedded default's
local cache). At most `count` calls per window; a burst across a window's edge can reach twice
that, which is the price of one round trip instead of DRF's list of timestamps read and written
back on every call. The 429 says when the window ends (Retry-After).

Rates read "count/period" where the period is a number and a unit: "25/5m", "300/5m",
"5/30m". Each rate comes from a THROTTLE_* environment variable (see settings).
"""

import logging

from rest_framework import throttling

from socialsite.ratelimit import parse_rate, window_hit  # parse_rate: also imported from here

logger = logging.getLogger(__name__)


class FixedWindowThrottle(throttling.SimpleRateThrottle):
    """DRF's SimpleRateThrottle (scope, THROTTLE_RATES, get_cache_key, wait) counting fixed windows."""

    remaining: float | None = None  # seconds left in the window, once a call was refused

    def parse_rate(self, rate):
        return parse_rate(rate)

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        try:
            used, self.remaining = window_hit(key, self.duration, self.timer())
        except Exception as exc:
            # Fail open: with the cache (Redis) down, serving beats refusing everyone.
            logger.warning("throttle %s skipped: cache unavailable (%s)", self.__class__.__name__, exc)
            return True
        return used <= self.num_requests

    def wait(self):
        return self.remaining


class UserAPIThrottle(FixedWindowThrottle):
    """Per authenticated user (token or session)."""

    scope = "api"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AnonAPIThrottle(FixedWindowThrottle):
    """Per client IP, for callers without a token or session."""

    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class IPThrottle(FixedWindowThrottle):
    """Per client IP, whoever the caller is; for login and sign-up."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginIPThrottle(IPThrottle):
    scope = "login"


class SignupIPThrottle(IPThrottle):
    scope = "signup"

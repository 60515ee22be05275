"""Rate limits in the shared cache (Redis when REDIS_URL is set).

Rates read "count/period" where the period is a number and a unit: "25/5m", "300/5m",
"5/30m". Each rate comes from a THROTTLE_* environment variable (see settings).
"""

import logging
import re

from rest_framework import throttling

RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
logger = logging.getLogger(__name__)


def parse_rate(rate):
    if rate is None:
        return (None, None)
    match = RATE_RE.match(rate)
    if not match:
        raise ValueError(f"Bad rate {rate!r}; expected e.g. '25/5m'.")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * UNIT_SECONDS[unit]


class RateParsingMixin:
    def parse_rate(self, rate):
        return parse_rate(rate)

    def allow_request(self, request, view):
        # Fail open: with the cache (Redis) down, serving beats refusing everyone.
        try:
            return super().allow_request(request, view)
        except Exception as exc:
            logger.warning("throttle %s skipped: cache unavailable (%s)", self.__class__.__name__, exc)
            return True


class UserAPIThrottle(RateParsingMixin, throttling.SimpleRateThrottle):
    """Per authenticated user (token or session)."""

    scope = "api"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AnonAPIThrottle(RateParsingMixin, throttling.AnonRateThrottle):
    scope = "anon"


class IPThrottle(RateParsingMixin, throttling.SimpleRateThrottle):
    """Per client IP, whoever the caller is; for login and sign-up."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginIPThrottle(IPThrottle):
    scope = "login"


class SignupIPThrottle(IPThrottle):
    scope = "signup"

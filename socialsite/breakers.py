"""Circuit breakers (pybreaker) for the optional dependencies: Elasticsearch, S3, SMTP, SMS and
link-preview fetches. docs/operations.md, "Degraded modes", says what users see when each is down.

    BREAKER = breakers.breaker("sms", exclude=[SMSRejected])
    BREAKER.call(backend.send, phone, text)

After BREAKER_FAIL_MAX consecutive failures a breaker opens: calls raise
pybreaker.CircuitBreakerError at once, without touching the dependency, for
BREAKER_RESET_SECONDS; then one trial call goes through (half-open) and closes it again, or
opens it for another period. Only the dependency's own failures count (connection refused,
timeouts, 5xx): a caller lists in `exclude` the errors that are the user's (a 404 for a missing
document, an invalid phone number), which pass through uncounted.

State is per process (pybreaker's memory storage): each web process and worker finds an outage
on its own after BREAKER_FAIL_MAX calls, and a Redis outage can't take the breakers down too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, TypeVar

import pybreaker
from celery.exceptions import Ignore
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from prometheus_client import Counter, Gauge

from socialsite.errors import ServiceError

logger = logging.getLogger(__name__)

T = TypeVar("T")

CircuitBreakerError = pybreaker.CircuitBreakerError

STATE_VALUES = {pybreaker.STATE_CLOSED: 0, pybreaker.STATE_OPEN: 1, pybreaker.STATE_HALF_OPEN: 2}

BREAKER_STATE = Gauge(
    "socialsite_breaker_state",
    "Circuit breaker state per dependency: 0 closed, 1 open, 2 half-open.",
    ["name"],
    multiprocess_mode="livemax",  # a dead process's value goes with it
)
BREAKER_OPENS = Counter("socialsite_breaker_opens", "Times a circuit breaker opened.", ["name"])


class DependencyUnavailable(ServiceError):
    """A dependency is down (its breaker is open, or the call just failed): 503 with Retry-After."""

    status_code = 503

    def __init__(self, name: str, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code or f"{name}_unavailable")
        self.retry_after = retry_after(name)


def storage_unavailable() -> DependencyUnavailable:
    """An upload refused because the media storage fails (S3's breaker open, or the write failed)."""
    return DependencyUnavailable(
        "s3", "Uploads are unavailable for a moment. Try again shortly.", code="storage_unavailable"
    )


class Breaker(pybreaker.CircuitBreaker):
    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        # pybreaker holds its lock for the whole call, which would let one thread at a time of a
        # web process search or upload; the state changes take the lock themselves.
        return self.state.call(func, *args, **kwargs)


class _Listener(pybreaker.CircuitBreakerListener):
    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        BREAKER_STATE.labels(cb.name).set(STATE_VALUES[new_state.name])
        if new_state.name == pybreaker.STATE_OPEN:
            BREAKER_OPENS.labels(cb.name).inc()
            logger.warning(
                "Circuit breaker %s opened (%s): calls fail fast for %s s",
                cb.name,
                "trial call failed" if old_state and old_state.name == pybreaker.STATE_HALF_OPEN else "failures",
                cb.reset_timeout,
            )
        elif new_state.name == pybreaker.STATE_CLOSED and old_state is not None and old_state.name != new_state.name:
            logger.info("Circuit breaker %s closed: %s answers again", cb.name, cb.name)


_breakers: dict[str, Breaker] = {}
_lock = threading.Lock()


def breaker(name: str, *, exclude: Iterable[type[BaseException] | Callable[[Any], bool]] = ()) -> Breaker:
    """The process's breaker for `name`, made on first use (`exclude`: the user's errors; the
    first call's list is the one kept: each breaker is made in one place, its caller's module)."""
    with _lock:
        if name not in _breakers:
            _breakers[name] = Breaker(
                fail_max=settings.BREAKER_FAIL_MAX,
                reset_timeout=settings.BREAKER_RESET_SECONDS,
                exclude=list(exclude),
                listeners=[_Listener()],
                name=name,
            )
            BREAKER_STATE.labels(name).set(0)
        return _breakers[name]


def _seconds_left(name: str) -> float:
    """Seconds until the open breaker `name` lets a trial call through; 0 when it would now."""
    found = _breakers.get(name)
    opened_at = found._state_storage.opened_at if found is not None else None
    if found is None or found.current_state != pybreaker.STATE_OPEN or opened_at is None:
        return 0.0
    return max(0.0, (opened_at + timedelta(seconds=found.reset_timeout) - datetime.now(UTC)).total_seconds())


def is_open(name: str) -> bool:
    """Whether a call would fail fast now (open, and not yet due for its trial call)."""
    return _seconds_left(name) > 0


def retry_after(name: str) -> int:
    """Whole seconds until the breaker lets a trial call through (at least 1)."""
    return max(1, int(_seconds_left(name) + 0.999))


def status_code(exc: BaseException) -> int | None:
    """The HTTP status an HTTP client's error carries, if any (elasticsearch, botocore, requests)."""
    meta = getattr(exc, "meta", None)
    if meta is not None and isinstance(getattr(meta, "status", None), int):
        return int(meta.status)
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore's ClientError
        code = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(code) if code else None
    code = getattr(response, "status_code", None)
    return int(code) if isinstance(code, int) else None


def client_error(exc: BaseException) -> bool:
    """An answer about the request itself (4xx other than 429): the dependency is up."""
    code = status_code(exc)
    return code is not None and 400 <= code < 500 and code != 429


def close_all() -> None:
    """Close every breaker and forget its failures (tests start from a clean slate)."""
    for each in list(_breakers.values()):
        each.close()


def retry_later(task: Any, name: str, exc: BaseException) -> NoReturn:
    """From a bound task whose call met the open breaker `name`: run it again once the breaker
    lets a trial call through, without spending one of its retries (an outage of an hour would
    burn them all). In process (eager) there is no later: the error goes to the caller (the
    outbox keeps the row for its relay)."""
    if task.request.is_eager:
        raise exc
    task.apply_async(
        args=task.request.args,
        kwargs=task.request.kwargs,
        countdown=retry_after(name),
        retries=task.request.retries or 0,
    )
    raise Ignore()


@receiver(setting_changed)
def _settings_changed(setting: str, **kwargs: Any) -> None:
    if setting in ("BREAKER_FAIL_MAX", "BREAKER_RESET_SECONDS"):
        for each in _breakers.values():
            each.fail_max = settings.BREAKER_FAIL_MAX
            each.reset_timeout = settings.BREAKER_RESET_SECONDS

"""Read replicas: requests read from a streaming replica when that can't show them stale data.

Installed only with DATABASE_REPLICA_URLS (settings.py makes each URL a DATABASES alias,
`replica_1`, ...; docs/operations.md "Read replicas"). Everything runs on the primary ("default")
unless it is a read of an HTTP request (ReplicaMiddleware) that

- isn't in a transaction on the primary (a service reads what it is about to write);
- isn't a write method (POST, PUT, PATCH, DELETE: the request reads to decide what to write);
- knows its user already (the session and the account are read from the primary: a session made
  a moment ago may not have reached the replica);
- hasn't written yet, and whose user hasn't written (or sent a write method) in the last
  REPLICA_READ_YOUR_WRITES_SECONDS (from any process: the mark is in the shared cache);
- doesn't run inside a Celery task (an eager one, in the request's thread).

Celery workers, beat, management commands, migrations and sockets have no request, so they stay
on the primary. A replica is used only while its lag is under REPLICA_MAX_LAG_SECONDS; each
process measures it at most every REPLICA_CHECK_SECONDS, on the thread that needed a replica.
A replica that can't be reached is left alone for REPLICA_RETRY_SECONDS and the read goes to the
primary.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from celery import current_task
from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty
from prometheus_client import Gauge

from socialsite import safe_cache

logger = logging.getLogger(__name__)
PRIMARY = "default"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

LAG = Gauge(
    "socialsite_db_replica_lag_seconds",
    "Replay lag of each read replica as this process last measured it (+Inf: unreachable)",
    ["alias"],
    multiprocess_mode="livemax",  # a dead process's value goes with it
)

# How far behind the primary the replica is. Idle, the primary writes nothing and the last replayed
# transaction's time grows old: a replica that replayed all it received is current (0), as long as
# it still receives (a WAL receiver is running). A server not in recovery is a primary: no lag.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
        AND EXISTS (SELECT FROM pg_stat_wal_receiver) THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 'Infinity')
END
"""


def replica_aliases() -> list[str]:
    aliases: list[str] = settings.DATABASE_REPLICAS
    return aliases


# --- Health, per process -----------------------------------------------------------------------


@dataclass
class _Health:
    lag: float | None = None  # seconds, None until measured
    down_until: float = 0.0  # monotonic; unreachable until then

    def usable(self, now: float) -> bool:
        return now >= self.down_until and self.lag is not None and self.lag <= settings.REPLICA_MAX_LAG_SECONDS


_health: dict[str, _Health] = {}
_checked_at = float("-inf")
_checking = threading.Lock()


def _state(alias: str) -> _Health:
    return _health.setdefault(alias, _Health())


def mark_down(alias: str) -> None:
    """The replica refused or broke a connection: read from the primary for REPLICA_RETRY_SECONDS.
    Its pool is closed: left open, it would keep retrying with a growing backoff and could still be
    waiting long after the replica is back."""
    health = _state(alias)
    if health.down_until == 0.0:
        logger.warning("replica %s unreachable: reads go to the primary", alias)
    health.down_until = time.monotonic() + settings.REPLICA_RETRY_SECONDS
    health.lag = None
    LAG.labels(alias=alias).set(float("inf"))
    wrapper = connections[alias]
    with contextlib.suppress(DatabaseError):
        wrapper.close()
    if alias in getattr(wrapper, "_connection_pools", {}):  # (its `pool` property would make one)
        with contextlib.suppress(Exception):  # closing a pool a dead server broke may raise anything
            wrapper.close_pool()  # type: ignore[attr-defined]  # PostgreSQL's wrapper (the only one with a pool)


def _lag_on(alias: str) -> float:
    """LAG_SQL on this thread's connection (pooled) while the replica is in use; on a connection
    of its own (failing fast: connect_timeout, no wait for a pool) before its first answer and
    after it was down."""
    wrapper = connections[alias]
    if _state(alias).lag is not None:
        with wrapper.cursor() as cursor:
            cursor.execute(LAG_SQL)
            return float(cursor.fetchone()[0])
    try:
        with psycopg.connect(**wrapper.get_connection_params(), autocommit=True) as probe:
            row = probe.execute(LAG_SQL).fetchone()
    except psycopg.Error as exc:
        raise DatabaseError(str(exc)) from exc
    return float(row[0]) if row else float("inf")


def measure(alias: str) -> float | None:
    """The replica's lag in seconds, measured now; None (and marked down) when it doesn't answer."""
    try:
        lag = _lag_on(alias)
    except DatabaseError:
        mark_down(alias)
        return None
    health = _state(alias)
    was_usable = health.usable(time.monotonic())
    health.lag, health.down_until = lag, 0.0
    LAG.labels(alias=alias).set(lag)
    if health.usable(time.monotonic()) != was_usable:
        logger.warning("replica %s %s (lag %.1f s)", alias, "in use" if not was_usable else "skipped", lag)
    return lag


def _check_due(now: float) -> None:
    """Measure every replica that isn't resting, if no thread of this process did within
    REPLICA_CHECK_SECONDS. Threads that find a measurement under way use the last one."""
    global _checked_at
    if now - _checked_at < settings.REPLICA_CHECK_SECONDS or not _checking.acquire(blocking=False):
        return
    try:
        _checked_at = now
        for alias in replica_aliases():
            if now >= _state(alias).down_until:
                measure(alias)
    finally:
        _checking.release()


def usable_replica(preferred: str | None = None) -> str | None:
    """A replica to read from now (the preferred one while it stays usable), or None."""
    now = time.monotonic()
    _check_due(now)
    if preferred is not None and _state(preferred).usable(now):
        return preferred
    usable = [alias for alias in replica_aliases() if _state(alias).usable(now)]
    return random.choice(usable) if usable else None  # noqa: S311 -- spreading load, not a secret


# --- The request's reads -----------------------------------------------------------------------


@dataclass
class _RequestReads:
    request: HttpRequest
    wrote: bool = False
    user_pinned: bool | None = None  # asked of the cache once the user is known
    replica: str | None = None


_current: contextvars.ContextVar[_RequestReads | None] = contextvars.ContextVar("replica_reads", default=None)


def _wrote_key(user_id: object) -> str:
    return f"replicas:wrote:{user_id}"


def _user_id(request: HttpRequest) -> tuple[bool, object | None]:
    """(known, id): whether the request's user is decided yet, and its id (None: anonymous)."""
    user = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:  # the session's lazy user, not read yet
        return False, None
    return True, user.pk if user.is_authenticated else None


@contextlib.contextmanager
def request_reads(request: HttpRequest) -> Iterator[None]:
    """Route this request's reads (ReplicaMiddleware), and pin its user to the primary for
    REPLICA_READ_YOUR_WRITES_SECONDS if it wrote or may have (a write method: raw SQL writes
    don't pass the router)."""
    reads = _RequestReads(request)
    token = _current.set(reads)
    try:
        yield
    finally:
        _current.reset(token)
        if reads.wrote or request.method in WRITE_METHODS:
            _, user_id = _user_id(request)
            if user_id is not None:
                safe_cache.set(_wrote_key(user_id), 1, settings.REPLICA_READ_YOUR_WRITES_SECONDS)


class ReplicaMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_reads(request):
            return self.get_response(request)


def _read_alias(reads: _RequestReads) -> str:
    if reads.wrote or reads.request.method in WRITE_METHODS:
        return PRIMARY
    if connections[PRIMARY].in_atomic_block or current_task:
        return PRIMARY
    known, user_id = _user_id(reads.request)
    if not known:
        return PRIMARY
    if user_id is not None:
        if reads.user_pinned is None:
            reads.user_pinned = safe_cache.get(_wrote_key(user_id)) is not None
        if reads.user_pinned:
            return PRIMARY
    alias = usable_replica(reads.replica)
    if alias is None:
        return PRIMARY
    try:
        connections[alias].ensure_connection()  # this thread's connection: from its pool, checked
    except DatabaseError:
        mark_down(alias)
        return PRIMARY
    reads.replica = alias
    return alias


class ReplicaRouter:
    """DATABASE_ROUTERS: reads as the module says, writes and migrations on the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        reads = _current.get()
        return PRIMARY if reads is None else _read_alias(reads)

    def db_for_write(self, model: Any, **hints: Any) -> str:
        reads = _current.get()
        if reads is not None:
            reads.wrote = True
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        same_database = {PRIMARY, *replica_aliases()}
        if obj1._state.db in same_database and obj2._state.db in same_database:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == PRIMARY

"""Timeline store: per-user home timelines and per-celebrity author timelines, ids only.

A timeline is a set of post ids scored by the post's `published_at` in microseconds, newest
first; equal scores order by id (UUIDv7 strings sort by time). Each is trimmed to a cap on
insert. With FEED_REDIS_URL each is a Redis sorted set; without, `MemoryStore` behaves the
same inside one process (the embedded default).

A home timeline exists only once built from the database (`replace`, which also stores a
sentinel so that "built, holds nothing" exists). Inserts go only into timelines that exist, so
a partial timeline never passes for a whole one: a missing one is rebuilt on the next read, and
so is one emptied by removals after trimming dropped its sentinel. Home timelines expire after
FEED_ACTIVE_DAYS unread.

Keys carry their user's hash tag (`feed:home:{u:<id>}`), so on a Redis Cluster
(FEED_REDIS_CLUSTER) a user's timelines share one slot and every script runs on one slot's
keys; before issue 19 the keys had no tag (`feed:home:<id>`): those are never read again, and
home timelines expire after FEED_ACTIVE_DAYS (docs/operations.md, "Redis at scale").
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, TypeVar
from uuid import UUID

from django.conf import settings

T = TypeVar("T")

# Keeps an emptied timeline in existence: "built, holds nothing".
SENTINEL = "-"
SENTINEL_SCORE = 0


@dataclass(frozen=True, order=True)
class Entry:
    score: int
    post_id: str


# (score, post id): a cursor position; entries strictly older or newer than it are read.
Bound = tuple[int, str]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def score_of(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (no float rounding: cursors compare by it)."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def moment_of(score: int) -> datetime:
    return EPOCH + timedelta(microseconds=score)


def home_key(user_id: UUID | str) -> str:
    return f"feed:home:{{u:{user_id}}}"


def author_key(author_id: UUID | str) -> str:
    return f"feed:author:{{u:{author_id}}}"


def _newer(entry: Entry, bound: Bound) -> bool:
    return (entry.score, entry.post_id) > bound


def _older(entry: Entry, bound: Bound) -> bool:
    return (entry.score, entry.post_id) < bound


class Unavailable(Exception):
    """The store can't be reached; callers fall back to the database."""


class MemoryStore:
    """In-process timelines for the embedded default (one Daphne, tasks in process).

    Other processes (`manage.py load_demo_posts`, a shell) can't write here, so a timeline
    counts as missing MAX_AGE seconds after it was built, and the next read rebuilds it.
    """

    MAX_AGE = 300

    def __init__(self) -> None:
        self._sets: dict[str, dict[str, int]] = {}
        self._built: dict[str, float] = {}
        self._lock = threading.Lock()

    def _expire(self, key: str) -> None:
        built = self._built.get(key)
        if built is not None and time.monotonic() - built > self.MAX_AGE:
            self._sets.pop(key, None)
            self._built.pop(key, None)

    def flush(self) -> None:
        with self._lock:
            self._sets.clear()
            self._built.clear()

    def exists(self, key: str) -> bool:
        with self._lock:
            self._expire(key)
            return key in self._sets

    def replace(self, key: str, entries: Iterable[Entry], cap: int, ttl: int | None = None) -> None:
        with self._lock:
            members = {SENTINEL: SENTINEL_SCORE}
            members.update({e.post_id: e.score for e in heapq.nlargest(cap, entries)})
            self._sets[key] = members
            self._built[key] = time.monotonic()

    def add_many(self, keys: Iterable[str], entries: Sequence[Entry], cap: int) -> int:
        """Add `entries` to each of `keys` that exists; returns how many timelines took them."""
        touched = 0
        with self._lock:
            for key in keys:
                self._expire(key)
                members = self._sets.get(key)
                if members is None:
                    continue
                touched += 1
                members.update({e.post_id: e.score for e in entries})
                if len(members) > cap:
                    keep = heapq.nlargest(cap, members.items(), key=lambda item: (item[1], item[0]))
                    self._sets[key] = dict(keep)
        return touched

    def remove_many(self, keys: Iterable[str], post_ids: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                members = self._sets.get(key)
                if members is not None:
                    for post_id in post_ids:
                        members.pop(post_id, None)
                    if not members:  # as in Redis, an empty set is gone: rebuilt on the next read
                        del self._sets[key]
                        self._built.pop(key, None)

    def range_many(
        self,
        keys: Sequence[str],
        *,
        before: Bound | None = None,
        after: Bound | None = None,
        count: int,
        ttls: dict[str, int] | None = None,
    ) -> list[list[Entry] | None]:
        """For each key, up to `count` entries newest first, strictly older than `before` or
        newer than `after` ((score, id) bounds); None for a key that doesn't exist. `ttls`
        ({key: seconds}) renews those keys' expiry in the same round trip."""
        with self._lock:
            for key in keys:
                self._expire(key)
            snapshots = [dict(self._sets[k]) if k in self._sets else None for k in keys]
        results: list[list[Entry] | None] = []
        for members in snapshots:
            if members is None:
                results.append(None)
                continue
            entries = [Entry(score, pid) for pid, score in members.items() if pid != SENTINEL]
            if before is not None:
                entries = [e for e in entries if _older(e, before)]
            if after is not None:
                entries = [e for e in entries if _newer(e, after)]
            results.append(heapq.nlargest(count, entries))
        return results

    def size(self, key: str) -> int:
        with self._lock:
            members = self._sets.get(key) or {}
            return len(members) - (SENTINEL in members)

    def memory_usage(self, key: str) -> int | None:
        return None


# For each key that exists: add the entries, then trim to the cap (lowest scores go first).
# One call per batch of keys, so Redis runs the loop; all keys must live on one Redis node (on a
# cluster, in one slot).
_ADD_IF_EXISTS = """
local cap = tonumber(ARGV[1])
local touched = 0
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    redis.call('ZADD', key, unpack(ARGV, 2))
    redis.call('ZREMRANGEBYRANK', key, 0, -cap - 1)
    touched = touched + 1
  end
end
return touched
"""


class RedisStore:
    """Timelines as Redis sorted sets. Every call is one round trip (pipelined)."""

    # Ties at one score can hide entries past `count`; read this many extra to cover them.
    TIE_SLACK = 16
    # Redis runs one script at a time: bound how long a fan-out write holds it.
    KEYS_PER_SCRIPT = 200

    # Short timeouts: a slow Redis costs a read its fallback to the database, not a stall.
    OPTIONS: dict[str, Any] = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, "retry_on_timeout": False}

    def __init__(self, url: str) -> None:
        import redis

        self._errors: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)
        self.client = redis.Redis.from_url(url, health_check_interval=30, **self.OPTIONS)
        self._add = self.client.register_script(_ADD_IF_EXISTS)

    def _run(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except self._errors as exc:
            raise Unavailable(str(exc)) from exc

    def flush(self) -> None:
        def flush() -> None:
            for key in self.client.scan_iter(match="feed:*", count=1000):
                self.client.delete(key)

        self._run(flush)

    def exists(self, key: str) -> bool:
        return self._run(lambda: bool(self.client.exists(key)))

    def replace(self, key: str, entries: Iterable[Entry], cap: int, ttl: int | None = None) -> None:
        mapping = {SENTINEL: SENTINEL_SCORE}
        mapping.update({e.post_id: e.score for e in heapq.nlargest(cap, entries)})

        def replace() -> None:
            pipe = self.client.pipeline(transaction=True)
            pipe.delete(key)
            pipe.zadd(key, mapping)
            if ttl:
                pipe.expire(key, ttl)
            pipe.execute()

        self._run(replace)

    def add_many(self, keys: Iterable[str], entries: Sequence[Entry], cap: int) -> int:
        if not keys or not entries:
            return 0
        keys = list(keys)
        args: list[int | str] = [cap]
        for e in entries:
            args += [e.score, e.post_id]

        def add() -> int:
            # One round trip; several short scripts so readers get a turn in between.
            pipe = self.client.pipeline(transaction=False)
            for start in range(0, len(keys), self.KEYS_PER_SCRIPT):
                self._add(keys=keys[start : start + self.KEYS_PER_SCRIPT], args=args, client=pipe)
            return sum(pipe.execute())

        return self._run(add)

    def remove_many(self, keys: Sequence[str], post_ids: Sequence[str]) -> None:
        if not keys or not post_ids:
            return

        def remove() -> None:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.zrem(key, *post_ids)
            pipe.execute()

        self._run(remove)

    def range_many(
        self,
        keys: Sequence[str],
        *,
        before: Bound | None = None,
        after: Bound | None = None,
        count: int,
        ttls: dict[str, int] | None = None,
    ) -> list[list[Entry] | None]:
        if not keys:
            return []
        high = "+inf" if before is None else before[0]
        low = "-inf" if after is None else after[0]
        fetch = count + self.TIE_SLACK
        ttls = ttls or {}

        def read() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.exists(key)
                pipe.zrevrangebyscore(key, high, low, start=0, num=fetch, withscores=True)
            for key, ttl in ttls.items():
                pipe.expire(key, ttl)
            return pipe.execute()

        replies = self._run(read)[: 2 * len(keys)]
        results: list[list[Entry] | None] = []
        for exists, rows in zip(replies[::2], replies[1::2], strict=True):
            if not exists:
                results.append(None)
                continue
            entries = [Entry(int(score), member.decode()) for member, score in rows if member != SENTINEL.encode()]
            if before is not None:
                entries = [e for e in entries if _older(e, before)]
            if after is not None:
                entries = [e for e in entries if _newer(e, after)]
            results.append(entries[:count])
        return results

    def size(self, key: str) -> int:
        return self._run(lambda: max(self.client.zcard(key) - bool(self.client.zscore(key, SENTINEL)), 0))

    def memory_usage(self, key: str) -> int | None:
        return self._run(lambda: self.client.memory_usage(key))


class RedisClusterStore(RedisStore):
    """Timelines on a Redis Cluster (FEED_REDIS_CLUSTER). A pipeline goes to each node holding
    its keys, in one round trip per node; a fan-out write runs the script once per slot."""

    def __init__(self, url: str) -> None:
        import redis

        self._errors = (redis.exceptions.RedisError, redis.exceptions.RedisClusterException, OSError)
        self._url = url
        self._lock = threading.Lock()
        self._client: Any = None
        self._add: Any = None

    @property
    def client(self) -> Any:  # type: ignore[override]  # made on first use: RedisCluster connects at once
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from socialsite.cache import cluster_client

                    client = cluster_client(self._url, **self.OPTIONS)
                    self._add = client.register_script(_ADD_IF_EXISTS)
                    self._client = client
        return self._client

    def add_many(self, keys: Iterable[str], entries: Sequence[Entry], cap: int) -> int:
        if not keys or not entries:
            return 0
        args: list[int | str] = [cap]
        for e in entries:
            args += [e.score, e.post_id]

        def add() -> int:
            from redis.exceptions import NoScriptError

            client = self.client
            by_slot: dict[int, list[str]] = {}
            for key in keys:
                by_slot.setdefault(client.keyslot(key), []).append(key)

            def run() -> int:
                pipe = client.pipeline(transaction=False)
                for slot_keys in by_slot.values():
                    # A cluster pipeline blocks its evalsha(); the command itself goes to the slot's node.
                    pipe.execute_command("EVALSHA", self._add.sha, len(slot_keys), *slot_keys, *args)
                return sum(pipe.execute())

            try:
                return run()
            except NoScriptError:  # a node that hasn't the script (new, restarted): load it on every primary
                client.script_load(_ADD_IF_EXISTS)
                return run()  # idempotent: set additions and trims

        return self._run(add)


@cache
def _store_for(url: str | None, cluster: bool = False) -> RedisStore | MemoryStore:
    if not url:
        return MemoryStore()
    return RedisClusterStore(url) if cluster else RedisStore(url)


def get_store() -> RedisStore | MemoryStore:
    return _store_for(settings.FEED_REDIS_URL, settings.FEED_REDIS_CLUSTER)


def home_ttl() -> int:
    seconds: int = settings.FEED_ACTIVE_DAYS * 86400
    return seconds

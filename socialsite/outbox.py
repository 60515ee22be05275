"""The transactional outbox: every task a service queues is a row written with the change.

    outbox.enqueue(tasks.fanout_post, post_id)

inside the service's transaction writes an `OutboxMessage`. Once the transaction commits, the
message is published to the broker and its row deleted (the fast path: one insert and one
delete more than a bare `delay()`); with a broker, in a request, once its response has been
sent (`held`, socialsite.middleware.PublishAfterResponseMiddleware), so the client doesn't wait
for the broker. A rolled-back transaction takes its rows with it, so
nothing is published for a change that never happened. If the publish fails (the broker is
down) or the process dies between the commit and the publish, the row stays and `relay()`
publishes it again once it is due: a beat task every OUTBOX_RELAY_SECONDS, and
`manage.py repair`. So a broker outage delays side effects and never loses them, and a
committed write never fails because the broker is unreachable.

Delivery is at least once: the fast path and the relay can both publish a row (the relay takes
rows only OUTBOX_RELAY_AFTER seconds old, so that is rare), and a broker redelivers a task whose
worker died. Every task is idempotent (docs/operations.md).

Without a broker (the embedded default) publishing runs the task in process after the commit;
a task that raises is logged and its row kept for the relay, with a backoff, instead of failing
the request that committed.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from structlog.contextvars import bound_contextvars

from socialsite import tracing
from socialsite.logs import current_request_id
from socialsite.models import OutboxMessage

if TYPE_CHECKING:
    from celery import Task

logger = logging.getLogger(__name__)

ERROR_MAX = 300  # characters of an error kept on the row


def enqueue(task: Task[Any, Any], *args: Any, queue: str = "") -> None:
    """Publish `task(*args)` after this transaction commits, and again until the broker takes it."""
    enqueue_many([(task, args, queue)])


Call = tuple["Task[Any, Any]", Sequence[Any], str]
_batched: ContextVar[list[Call] | None] = ContextVar("outbox_batched", default=None)
_held: ContextVar[list[OutboxMessage] | None] = ContextVar("outbox_held", default=None)


@contextmanager
def held() -> Iterator[list[OutboxMessage]]:
    """Inside, committed rows collect in the yielded list instead of being published at the
    commit; the caller publishes them later (a request: after its response is sent). They are
    in the outbox already, so a process that dies first leaves them to the relay."""
    rows: list[OutboxMessage] = []
    token = _held.set(rows)
    try:
        yield rows
    finally:
        _held.reset(token)


def _committed(rows: Sequence[OutboxMessage]) -> None:
    waiting = _held.get()
    if waiting is None or _eager():  # run in process at the commit, a task's result can be in the response
        publish(rows)
    else:
        waiting.extend(rows)


@contextmanager
def batch() -> Iterator[None]:
    """Inside, enqueue() calls are collected and written in one insert when the block ends
    (several receivers of one signal, each queueing a task). Must end inside the transaction;
    nested blocks join the outer one; on an exception nothing is written (it rolls back anyway)."""
    if _batched.get() is not None:
        yield
        return
    calls: list[Call] = []
    token = _batched.set(calls)
    try:
        yield
    finally:
        _batched.reset(token)
    enqueue_many(calls)  # not reached on an exception


def enqueue_many(calls: Iterable[Call]) -> None:
    """enqueue() for each (task, args, queue) of `calls`: one insert and one publish pass."""
    pending = _batched.get()
    if pending is not None:
        pending.extend(calls)
        return
    now = timezone.now()
    due = now + timedelta(seconds=settings.OUTBOX_RELAY_AFTER)
    request_id, traceparent = current_request_id(), tracing.traceparent()
    rows = [
        OutboxMessage(
            task=task.name,
            args=_as_json(args),
            queue=queue or "",
            created_at=now,
            due_at=due,
            request_id=request_id,
            traceparent=traceparent,
        )
        for task, args, queue in calls
    ]
    if not rows:
        return
    if len(rows) == 1:
        rows[0].save(force_insert=True)
    else:
        OutboxMessage.objects.bulk_create(rows)
    transaction.on_commit(lambda: _committed(rows))


def _as_json(args: Sequence[Any]) -> list[Any]:
    """The arguments as the worker will receive them (UUIDs as text), whichever path publishes."""
    decoded: list[Any] = json.loads(json.dumps(list(args), cls=DjangoJSONEncoder))
    return decoded


class _Breaker:
    """After a failed publish, the fast path leaves rows to the relay for a few seconds instead
    of making every request wait for a broker that just refused."""

    def __init__(self) -> None:
        self.closed_at = 0.0

    @property
    def open(self) -> bool:
        return time.monotonic() < self.closed_at

    def trip(self) -> None:
        self.closed_at = time.monotonic() + settings.OUTBOX_BREAKER_SECONDS


breaker = _Breaker()


def _eager() -> bool:
    from socialsite.celery import app

    eager: bool = app.conf.task_always_eager
    return eager


# One reconnect, at once (a pooled connection the broker reset), then give up: the row stays for the
# relay. (`retry=False` is slower on a refused port: kombu reconnects until its connect timeout.)
PUBLISH_RETRY: dict[str, float] = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}


def _task(name: str) -> Task[Any, Any]:
    from socialsite.celery import app

    try:
        return app.tasks[name]
    except KeyError:  # its module isn't imported in this process yet (a web process imports lazily)
        app.loader.import_default_modules()
        return app.tasks[name]


def _send(row: OutboxMessage) -> None:
    from socialsite.celery import app

    options: dict[str, Any] = {"retry": True, "retry_policy": PUBLISH_RETRY}
    if row.queue:
        options["queue"] = row.queue
    if app.conf.broker_transport_options.get("confirm_publish"):
        options["confirm_timeout"] = 5  # RabbitMQ: a publish counts once the broker confirmed it
    # Published after the request's context is gone (or in another process): its request id goes
    # into the task's headers through django-structlog's publish receiver, and its trace continues
    # through Celery's instrumentation, from what the row kept.
    context = bound_contextvars(request_id=row.request_id) if row.request_id else contextlib.nullcontext()
    with context, tracing.parent(row.traceparent):
        _task(row.task).apply_async(args=row.args, kwargs=row.kwargs, **options)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_MAX]


def publish(rows: Sequence[OutboxMessage]) -> None:
    """The fast path, after the commit: hand each row to the broker and delete the ones it took.
    Never raises: what isn't published stays for the relay."""
    if breaker.open:
        return
    eager = _eager()
    sent: list[int] = []
    for row in rows:
        try:
            _send(row)
        except Exception as exc:
            if eager:  # the task itself failed, in process
                logger.exception("outbox: task %s failed in process; kept for the relay (#%s)", row.task, row.pk)
                _postpone([row], exc)
                continue
            breaker.trip()
            logger.warning("outbox: broker refused %s (%s); %d rows left for the relay", row.task, exc, len(rows))
            break
        sent.append(row.pk)
    if eager:
        _forget(sent)
    else:
        _reaper().forget(sent)


def _forget(ids: Sequence[int]) -> None:
    """Delete published rows. On PostgreSQL without waiting for the WAL flush: a delete lost in a
    crash only means the relay publishes those rows again, which at-least-once allows."""
    if not ids:
        return
    try:
        if connection.vendor != "postgresql":
            OutboxMessage.objects.filter(pk__in=ids).delete()
            return
        numbers = ",".join(str(int(pk)) for pk in ids)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SET LOCAL synchronous_commit TO OFF; DELETE FROM {OutboxMessage._meta.db_table} WHERE id IN ({numbers})"  # noqa: S608 -- integers
            )
    except Exception:  # published already; the relay will publish them again, which is allowed
        logger.exception("outbox: could not delete %d published rows", len(ids))


class _Reaper:
    """Deletes the fast path's published rows in batches on a thread of its own, so a request pays
    for the publish and not for a second statement and commit (bench_outbox). A row whose delete
    never happens (the process died first) is published again by the relay once due: rows are
    due OUTBOX_RELAY_AFTER seconds after they were written, far later than this deletes them."""

    PAUSE = 0.2  # seconds: rows published meanwhile go in the same delete

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.ids: list[int] = []
        self.lock = threading.Lock()
        self.wake = threading.Event()
        threading.Thread(target=self._run, name="outbox-reaper", daemon=True).start()
        atexit.register(self.flush)

    def forget(self, ids: Sequence[int]) -> None:
        if ids:
            with self.lock:
                self.ids.extend(ids)
            self.wake.set()

    def _run(self) -> None:
        while True:
            self.wake.wait()
            time.sleep(self.PAUSE)
            self.flush()

    def flush(self) -> None:
        with self.lock:
            ids, self.ids = self.ids, []
            self.wake.clear()
        try:
            _forget(ids)
        finally:
            connection.close()  # this thread's connection goes back to the pool between batches


_reaper_instance: _Reaper | None = None
_reaper_lock = threading.Lock()


def _reaper() -> _Reaper:
    global _reaper_instance
    with _reaper_lock:
        if _reaper_instance is None or _reaper_instance.pid != os.getpid():  # a forked worker child
            _reaper_instance = _Reaper()
        return _reaper_instance


def _postpone(rows: Iterable[OutboxMessage], exc: BaseException) -> None:
    """A task that raised in process: try again later, backing off (10 s doubling to 10 min)."""
    now = timezone.now()
    for row in rows:
        delay = min(600, 10 * 2 ** min(row.attempts, 6))
        OutboxMessage.objects.filter(pk=row.pk).update(
            attempts=F("attempts") + 1, last_error=_error_text(exc), due_at=now + timedelta(seconds=delay)
        )


def relay(*, batch: int | None = None) -> int:
    """Publish every row that is due. Returns how many were published.

    Each pass claims a batch (SKIP LOCKED on PostgreSQL, and a lease of OUTBOX_RELAY_AFTER
    seconds), so relays in several workers share the work, then publishes it outside the claim's
    transaction. A broker error ends the run; the rest are due again when their lease ends."""
    batch = batch or settings.OUTBOX_RELAY_BATCH
    eager = _eager()
    published = 0
    while True:
        rows = _claim(batch)
        sent: list[int] = []
        for row in rows:
            try:
                _send(row)
            except Exception as exc:
                if eager:
                    logger.exception("outbox: task %s failed in process again (#%s)", row.task, row.pk)
                    _postpone([row], exc)
                    continue
                OutboxMessage.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1, last_error=_error_text(exc))
                _forget(sent)
                logger.warning("outbox: relay stopped, broker refused %s (%s)", row.task, exc)
                return published + len(sent)
            sent.append(row.pk)
        _forget(sent)
        published += len(sent)
        if len(rows) < batch:
            break
    if published:
        logger.info("outbox: relay published %d messages", published)
    return published


def _claim(batch: int) -> list[OutboxMessage]:
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(due_at__lte=now)
            .order_by("due_at", "id")[:batch]
        )
        if rows:
            lease = now + timedelta(seconds=settings.OUTBOX_RELAY_AFTER)
            OutboxMessage.objects.filter(pk__in=[row.pk for row in rows]).update(due_at=lease)
    return rows


def backlog() -> dict[str, float]:
    """{"count", "oldest_seconds"} of rows not yet published (for /readyz and the admin)."""
    oldest = OutboxMessage.objects.order_by("id").values_list("created_at", flat=True).first()
    if oldest is None:
        return {"count": 0, "oldest_seconds": 0}
    # Counted up to a bound: the number matters when it's small; past that, "a lot" is the news.
    count = OutboxMessage.objects.all()[: settings.OUTBOX_BACKLOG_COUNT_MAX].count()
    return {"count": count, "oldest_seconds": round((timezone.now() - oldest).total_seconds(), 1)}

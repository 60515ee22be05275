"""Prometheus metrics: the product and health series (`socialsite_*`) and the `/metrics` view.

django-prometheus counts requests, database queries and cache reads (its middlewares, its
database backends and `socialsite.cache`); the series here are incremented where the work
happens (services, tasks, consumers), and two families are read at scrape time: Celery's queue
depths (from the broker) and the outbox backlog (from the database).

Several processes on one host (gunicorn workers, Daphnes, Celery children) share
PROMETHEUS_MULTIPROC_DIR: prometheus_client writes each process's values into files there and
`/metrics` adds them up (docs/operations.md "Metrics"). Without the variable (`make run`) a
process serves its own values.

The core imports no feature app: the apps import this module.
"""

from __future__ import annotations

import atexit
import hmac
import ipaddress
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from celery import signals
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

disable_created_metrics()  # no `_created` series: Prometheus reads a reset from the counter itself

# --- Realtime ----------------------------------------------------------------------------------------
# Per process (a `pid` label each; a dead process's series go when it is marked dead).
REALTIME_OPEN = Gauge(
    "socialsite_realtime_connections",
    "Open WebSockets and SSE streams in this process.",
    ["transport"],  # websocket | sse
    multiprocess_mode="liveall",
)
CHANNEL_SENDS = Counter(
    "socialsite_channel_layer_sends_total", "Events sent to groups through the channel layer.", ["layer"]
)
CHANNEL_DROPS = Counter(
    "socialsite_channel_layer_drops_total",
    "Events the channel layer dropped (their sockets resync), by where (socialsite/realtime/layers.py).",
    ["where"],
)

# --- Celery --------------------------------------------------------------------------------------------
TASK_SECONDS = Histogram(
    "socialsite_celery_task_duration_seconds",
    "Time a task ran in a worker.",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
TASK_WAIT_SECONDS = Histogram(
    "socialsite_celery_task_queue_wait_seconds",
    "Time from a task's publish to its start in a worker.",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
TASKS = Counter(
    "socialsite_celery_tasks_total", "Tasks finished, by state (SUCCESS, FAILURE, RETRY).", ["task", "state"]
)
TASK_FAILURES = Counter("socialsite_celery_task_failures_total", "Tasks that raised.", ["task"])

# --- Feeds ---------------------------------------------------------------------------------------------
FANOUT_LAG = Histogram(
    "socialsite_fanout_lag_seconds",
    "From a post's publication to the last timeline its fan-out wrote.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)
FEED_READS = Counter(
    "socialsite_feed_reads_total",
    "Home feed reads by where the posts came from (store, database, mixed).",
    ["source"],
)

# --- Product -----------------------------------------------------------------------------------------
POSTS_CREATED = Counter("socialsite_posts_created_total", "Posts created (committed).")
LIKES_CREATED = Counter("socialsite_likes_created_total", "Likes created (committed).")
MESSAGES_CREATED = Counter("socialsite_messages_created_total", "Direct messages sent (committed).")
MEDIA_SECONDS = Histogram(
    "socialsite_media_processing_seconds",
    "Time a worker spent processing one upload, by kind and outcome (ready, failed).",
    ["kind", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 600),
)
MEDIA_FAILURES = Counter("socialsite_media_failures_total", "Uploads marked failed.", ["kind"])
SIGNUPS = Counter("socialsite_signups_total", "Accounts created, by where (api, web, social).", ["via"])
LOGINS = Counter("socialsite_logins_total", "Sign-ins by where (api, web) and result.", ["via", "result"])

# Read at scrape time by the collector below; listed for tests/socialsite/metrics (names in alerts).
SCRAPED = (
    "socialsite_celery_queue_length",
    "socialsite_outbox_backlog",
    "socialsite_outbox_oldest_age_seconds",
    "socialsite_collector_up",
)

QUEUE_CACHE_SECONDS = 5.0  # a scrape every few seconds asks the broker at most this often
BROKER_TIMEOUT = 1.0  # seconds: a broker that hangs costs a scrape this much, then it reads as down


class ScrapeCollector(Collector):
    """Queue depths and the outbox backlog, read when Prometheus scrapes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: tuple[float, dict[str, int] | None] = (0.0, None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("socialsite_collector_up", "Whether a scrape-time reading worked.", labels=["collector"])
        queues = self.queue_lengths()
        if queues is not None:
            family = GaugeMetricFamily("socialsite_celery_queue_length", "Tasks waiting in a queue.", labels=["queue"])
            for name, length in sorted(queues.items()):
                family.add_metric([name], length)
            yield family
        up.add_metric(["queues"], 0 if queues is None else 1)
        try:
            from socialsite import outbox

            backlog = outbox.backlog()
        except Exception:  # noqa: BLE001 -- the database is down: say so, keep the rest of the page
            up.add_metric(["outbox"], 0)
        else:
            up.add_metric(["outbox"], 1)
            yield GaugeMetricFamily(
                "socialsite_outbox_backlog", "Outbox rows the broker hasn't taken yet.", value=backlog["count"]
            )
            yield GaugeMetricFamily(
                "socialsite_outbox_oldest_age_seconds",
                "Age of the oldest outbox row (0 when empty).",
                value=backlog["oldest_seconds"],
            )
        yield up

    def queue_lengths(self) -> dict[str, int] | None:
        """{queue: length}, from a cache at most QUEUE_CACHE_SECONDS old; None if the broker didn't answer."""
        if settings.CELERY_TASK_ALWAYS_EAGER:
            return {}  # embedded: no broker, nothing waits
        with self._lock:  # concurrent scrapes ask once
            at, found = self._queues
            if time.monotonic() - at < QUEUE_CACHE_SECONDS:
                return found
            try:
                found = _broker_queue_lengths(settings.CELERY_BROKER_URL, settings.TASK_QUEUES)
            except Exception:  # noqa: BLE001 -- any broker error reads as "no answer"
                found = None
            self._queues = (time.monotonic(), found)
            return found


def _broker_queue_lengths(url: str, queues: list[str]) -> dict[str, int]:
    if url.startswith(("redis://", "rediss://", "unix://")):
        import redis

        client = redis.Redis.from_url(url, socket_timeout=BROKER_TIMEOUT, socket_connect_timeout=BROKER_TIMEOUT)
        try:
            # kombu's Redis transport: a list per queue, and one per priority step above 0.
            from kombu.transport.redis import PRIORITY_STEPS, Channel

            pipe = client.pipeline(transaction=False)
            for name in queues:
                for step in PRIORITY_STEPS:
                    pipe.llen(f"{name}{Channel.sep}{step}" if step else name)
            lengths = pipe.execute()
        finally:
            client.close()
        steps = len(PRIORITY_STEPS)
        return {name: sum(lengths[i * steps : (i + 1) * steps]) for i, name in enumerate(queues)}
    # RabbitMQ: a passive declare answers the queue's ready messages.
    from kombu import Connection

    with Connection(url, connect_timeout=BROKER_TIMEOUT, transport_options={"read_timeout": BROKER_TIMEOUT}) as conn:
        conn.ensure_connection(max_retries=1, timeout=int(BROKER_TIMEOUT) or 1)
        found = {}
        for name in queues:
            channel: Any = conn.channel()  # an amqp Channel; the stub's type is the transport-neutral one
            try:
                found[name] = channel.queue_declare(queue=name, passive=True).message_count
            except conn.channel_errors:  # never declared (no worker or publish yet): the error closed the channel
                found[name] = 0
            else:
                channel.close()
        return found


SCRAPE = ScrapeCollector()


# --- The view --------------------------------------------------------------------------------------------


def multiproc_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def exposition() -> bytes:
    """The page: every process's series (or this process's), then the scrape-time readings."""
    path = multiproc_dir()
    if path:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry = REGISTRY
    scraped = CollectorRegistry()
    scraped.register(SCRAPE)
    return generate_latest(registry) + generate_latest(scraped)


def client_address(request: HttpRequest) -> str:
    """The caller's address as the rate limits see it: behind NUM_PROXIES proxies, the address the
    outermost trusted proxy appended to X-Forwarded-For (DRF's rule); else the peer's."""
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        return hops[-min(proxies, len(hops))]
    return str(request.META.get("REMOTE_ADDR") or "")


def _allowed_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(cidr, strict=False) for cidr in settings.METRICS_ALLOWED_IPS)


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Open with DEBUG; otherwise for `Authorization: Bearer <METRICS_TOKEN>` or an allowed address.
    Without either, a 404, as for any path that isn't there; a wrong token, a 403."""
    if not settings.DEBUG:
        from socialsite.api.errors import json_error_response

        header = request.headers.get("Authorization", "")
        token = settings.METRICS_TOKEN
        presented = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if presented:
            if not token or not hmac.compare_digest(presented.encode(), token.encode()):
                return json_error_response(403, "permission_denied", "You don't have access to this.")
        elif not _allowed_address(client_address(request)):
            return json_error_response(404, "not_found", "Nothing here.")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


# --- Processes ---------------------------------------------------------------------------------------------


def mark_dead(pid: int | None = None) -> None:
    """Drop a process's live gauges (its `liveall` series) from the shared directory."""
    path = multiproc_dir()
    if path:
        multiprocess.mark_process_dead(pid or os.getpid(), path)


def reset_multiproc_dir(path: str) -> None:
    """Empty the directory before the processes that share it start (files of a previous run would
    be added to this run's counters)."""
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))


def start_exporter(port: int, addr: str = "") -> Any:
    """An HTTP server on its own port serving this host's series, for a worker on a host without a
    web process (METRICS_EXPORTER_PORT, docs/operations.md "Metrics"); no scrape-time readings,
    the web processes have them."""
    from prometheus_client import start_http_server

    path = multiproc_dir()
    registry = REGISTRY
    if path:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=path)
    return start_http_server(port, addr=addr, registry=registry)


atexit.register(mark_dead)  # a process that exits normally; killed ones are marked by their parent


# --- Celery's signals ------------------------------------------------------------------------------------

PUBLISHED_AT = "socialsite_published_at"  # a message header: when it was published (time.time())
_started: dict[str, float] = {}  # task id -> time.monotonic() at its start, in this process


@signals.before_task_publish.connect
def _stamp_publish(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    if headers is not None:
        headers[PUBLISHED_AT] = time.time()


@signals.task_prerun.connect
def _task_started(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    _started[task_id] = time.monotonic()
    published_at = getattr(task.request, PUBLISHED_AT, None) if task is not None else None
    if isinstance(published_at, int | float):
        TASK_WAIT_SECONDS.labels(task.name).observe(max(0.0, time.time() - published_at))


@signals.task_postrun.connect
def _task_finished(task_id: str = "", task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    started = _started.pop(task_id, None)
    name = getattr(task, "name", "unknown")
    if started is not None:
        TASK_SECONDS.labels(name).observe(time.monotonic() - started)
    TASKS.labels(name, state or "UNKNOWN").inc()


@signals.task_failure.connect
def _task_failed(sender: Any = None, **kwargs: Any) -> None:
    TASK_FAILURES.labels(getattr(sender, "name", "unknown")).inc()


@signals.worker_process_shutdown.connect
def _pool_child_exits(**kwargs: Any) -> None:
    mark_dead()  # a prefork child leaves with os._exit: atexit doesn't run


@signals.worker_init.connect
def _worker_exporter(**kwargs: Any) -> None:
    if settings.METRICS_EXPORTER_PORT:
        start_exporter(settings.METRICS_EXPORTER_PORT, settings.METRICS_EXPORTER_ADDRESS)

"""gunicorn for socialsite's pages and REST (docs/operations.md "Serving"):

    gunicorn -c deploy/gunicorn.conf.py -b unix:/path/gunicorn.sock socialsite.wsgi:application

gthread workers: WEB_WORKERS processes x WEB_THREADS threads, defaults from the cores
(socialsite.production.counts). Each worker has its own psycopg pool, so at most
min(WEB_THREADS, DB_POOL_MAX_SIZE) connections per worker. Behind nginx only.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root, for the import below

from socialsite.logs import logging_config  # noqa: E402  (structlog only, no Django)
from socialsite.production import counts  # noqa: E402  (standard library only)

_counts = counts()

wsgi_app = "socialsite.wsgi:application"
bind = ["127.0.0.1:8001"]  # -b on the command line replaces it (make serve: a Unix socket)
worker_class = "gthread"
workers = _counts.web_workers
threads = _counts.web_threads
timeout = 30  # a worker silent this long (stuck, not just busy: threads heartbeat) is replaced
graceful_timeout = 8  # SIGTERM: requests in flight get this long, within an orchestrator's 10 s
keepalive = 75  # longer than nginx keeps its idle upstream connections (60 s), so nginx closes first
# Only nginx reaches the socket, and it overwrites X-Forwarded-Proto: trust it (Django reads it
# too, through SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = "*"
# Heartbeat files in memory, not on a disk that may stall (gunicorn's advice for containers).
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
accesslog = None  # nginx is in front; `--access-logfile -` to see every request
errorlog = "-"
# gunicorn's own lines (workers booting, timeouts) as Django's: JSON unless LOG_FORMAT=console.
logconfig_dict = logging_config(os.environ.get("LOG_FORMAT", "json"), os.environ.get("LOG_LEVEL", "INFO"))
logconfig_dict["loggers"] = {name: {"propagate": True} for name in ("gunicorn.error", "gunicorn.access")}
preload_app = False  # each worker imports the app itself: no pool or socket made before the fork
# gunicorn 26's control socket is one per user (~/.gunicorn/gunicorn.ctl): several gunicorns on a
# machine (tests, benchmarks) would take it from each other. Nothing here uses it.
control_socket_disable = True

# /metrics (docs/operations.md "Metrics"): the workers write their series into PROMETHEUS_MULTIPROC_DIR,
# which whoever starts the processes sharing it empties first (make serve does).
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if _metrics_dir:
    Path(_metrics_dir).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    """A worker that exited (replaced, killed, or at shutdown): its live gauges leave /metrics."""
    if _metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, _metrics_dir)

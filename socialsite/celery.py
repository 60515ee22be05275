import logging
import os

from celery import Celery, signals
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialsite.settings")

app = Celery("socialsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each task's log lines carry its task_id and the request_id of the request that queued it (from
# the task's headers; socialsite.outbox puts it there at publish, docs/operations.md "Logs and traces").
app.steps["worker"].add(DjangoStructLogInitStep)

# Django's connection pool in prefork children (docs/operations.md, "Database connections").
# Celery's Django fixup closes a child's whole pool after every task (celery/celery#10554), so
# every task opened new connections. Turn its recycling off (a DB_REUSE_MAX never reached) and
# give the connection back to the child's pool after each task instead; a broken one is dropped.
# The fixup still closes the pool a child inherits across the fork, so each child has its own.
app.conf.CELERY_DB_REUSE_MAX = 2**62


@signals.setup_logging.connect
def _keep_django_logging(loglevel=None, **kwargs):
    # With a receiver here Celery leaves logging alone: Django's LOGGING (socialsite.logs, set up
    # with Django) formats Celery's own lines too. The worker's --loglevel still sets the level.
    if loglevel:
        logging.getLogger().setLevel(loglevel)


@signals.worker_process_init.connect
def _start_tracing_in_child(**kwargs):
    from socialsite import tracing

    tracing.setup()  # with OTEL_EXPORTER_OTLP_ENDPOINT: each prefork child exports its own spans


@signals.worker_init.connect
def _start_tracing_unforked(sender=None, **kwargs):
    # solo and threads pools run tasks in this process: no worker_process_init.
    if sender is not None and "prefork" not in str(getattr(sender, "pool_cls", "prefork")).lower():
        from socialsite import tracing

        tracing.setup()


@signals.worker_process_shutdown.connect
@signals.worker_shutdown.connect
def _flush_spans(**kwargs):
    from socialsite import tracing

    tracing.shutdown()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _return_database_connection(sender=None, **kwargs):
    # Eager tasks run inside the caller's request or transaction: its connection isn't ours to close.
    if sender is not None and not getattr(sender.request, "is_eager", False):
        from django.db import close_old_connections

        close_old_connections()


from socialsite import metrics  # noqa: E402, F401 -- its task signals, in workers and (eager) web processes

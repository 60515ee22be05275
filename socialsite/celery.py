import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialsite.settings")

app = Celery("socialsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Django's connection pool in prefork children (docs/operations.md, "Database connections").
# Celery's Django fixup closes a child's whole pool after every task (celery/celery#10554), so
# every task opened new connections. Turn its recycling off (a DB_REUSE_MAX never reached) and
# give the connection back to the child's pool after each task instead; a broken one is dropped.
# The fixup still closes the pool a child inherits across the fork, so each child has its own.
app.conf.CELERY_DB_REUSE_MAX = 2**62


@signals.task_prerun.connect
@signals.task_postrun.connect
def _return_database_connection(sender=None, **kwargs):
    # Eager tasks run inside the caller's request or transaction: its connection isn't ours to close.
    if sender is not None and not getattr(sender.request, "is_eager", False):
        from django.db import close_old_connections

        close_old_connections()


from socialsite import metrics  # noqa: E402, F401 -- its task signals, in workers and (eager) web processes

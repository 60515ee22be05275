"""/healthz: the process answers. /readyz: database and cache are reachable; the broker and how
much the outbox holds that the broker hasn't taken yet are details. Neither makes the process
unready: with the broker down writes still succeed (their tasks wait in the outbox), and taking
every web process out of rotation would turn a broker outage into a site outage."""

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from socialsite import outbox


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache():
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", 10)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was stored")
    cache.delete(key)


def _check_broker():
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return  # embedded default: tasks run in-process, there is no broker
    from socialsite.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}
REQUIRED = ("database", "cache")


@never_cache
@require_GET
def readyz(request):
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # report, don't raise: this is the health endpoint
            results[name] = f"error: {type(exc).__name__}"
    ready = all(results[name] == "ok" for name in REQUIRED)
    body = {"status": "ok" if ready else "unavailable", "checks": results}
    if results["database"] == "ok":
        body["outbox"] = outbox.backlog()
    return JsonResponse(body, status=200 if ready else 503)

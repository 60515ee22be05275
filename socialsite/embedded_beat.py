"""Celery beat inside the web process in the embedded default (no CELERY_BROKER_URL): tasks run
in-process there, and nothing else would run the periodic ones, so under `make run` trends never
appeared. Celery's own EmbeddedService runs the schedule on a thread; each task it sends runs
eagerly on that thread. With a broker, `celery beat` does this instead."""

import logging

from django.conf import settings

logger = logging.getLogger(__name__)


def start():
    """Start beat on a thread of this process when it is the embedded default; the service or None."""
    if not settings.CELERY_TASK_ALWAYS_EAGER or not settings.EMBEDDED_BEAT:
        return None
    from celery.beat import EmbeddedService

    from socialsite.celery import app

    service = EmbeddedService(app, thread=True, scheduler_cls="celery.beat:Scheduler")  # no schedule file
    service.start()
    logger.info("beat runs in this process (embedded default): %s", ", ".join(sorted(settings.CELERY_BEAT_SCHEDULE)))
    return service

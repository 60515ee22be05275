"""Thin Celery tasks for media: load by id, re-check state, call the service that does the work.

The registered names are those from when media was part of posts: messages already queued and
outbox rows name them, and CELERY_TASK_ROUTES sends `posts.tasks.process_media` to the media queue.
"""

import random

from celery import shared_task

MEDIA_MAX_RETRIES = 5
STORAGE_FAILED_MESSAGE = "We couldn't store this file. Please try uploading it again."


def retry_delay(retries):
    """Exponential backoff with jitter: about 10 s, 20 s, 40 s ... at most 10 minutes."""
    return min(600, 10 * 2**retries) + random.uniform(0, 5)  # noqa: S311 - jitter, not a secret


def _with_storage_retries(task, media_id, work):
    """Run `work`, retrying a storage outage with backoff; after the last retry the row is marked
    failed. Without a worker (eager mode) the retries run in place, since nothing would come back later."""
    from media import services
    from media.errors import StorageUnavailable

    retries = task.request.retries or 0
    while True:
        try:
            work()
            return
        except StorageUnavailable as exc:
            if retries >= task.max_retries:
                services.media_fail(media_id=media_id, message=STORAGE_FAILED_MESSAGE)
                return
            if not task.request.is_eager:
                raise task.retry(exc=exc, countdown=retry_delay(retries))
            retries += 1


@shared_task(name="posts.tasks.process_media", bind=True, max_retries=MEDIA_MAX_RETRIES, acks_late=True)
def process_media(self, media_id):
    """Make a media item's variants. Idempotent: a ready, failed or missing row is a no-op.

    Storage errors are retried with backoff; after the last retry the row is marked failed.
    Without a worker (eager mode) the retries run in place, since nothing would come back later.
    """
    from media import services

    _with_storage_retries(self, media_id, lambda: services.media_process(media_id=media_id))


@shared_task(name="posts.tasks.refilter_media", bind=True, max_retries=MEDIA_MAX_RETRIES, acks_late=True)
def refilter_media(self, media_id, filter):
    """Remake a processed image's variants with a new filter (a post chose it). Idempotent: only
    an image sent back to processing for this is touched; anything else is a no-op.

    Retries storage errors like `process_media`; after the last retry the row is marked failed.
    """
    from media import services

    _with_storage_retries(self, media_id, lambda: services.media_refilter(media_id=media_id, filter=filter))

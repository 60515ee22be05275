"""Thin Celery tasks for posts: load by id, re-check state, call the code that does the work."""

import random

from celery import shared_task

MEDIA_MAX_RETRIES = 5
STORAGE_FAILED_MESSAGE = "We couldn't store this file. Please try uploading it again."


def retry_delay(retries):
    """Exponential backoff with jitter: about 10 s, 20 s, 40 s ... at most 10 minutes."""
    return min(600, 10 * 2**retries) + random.uniform(0, 5)  # noqa: S311 - jitter, not a secret


@shared_task(bind=True, max_retries=MEDIA_MAX_RETRIES, acks_late=True)
def process_media(self, media_id):
    """Make a media item's variants. Idempotent: a ready, failed or missing row is a no-op.

    Storage errors are retried with backoff; after the last retry the row is marked failed.
    Without a worker (eager mode) the retries run in place, since nothing would come back later.
    """
    from posts import media

    retries = self.request.retries or 0
    while True:
        try:
            media.media_process(media_id=media_id)
            return
        except media.StorageUnavailable as exc:
            if retries >= self.max_retries:
                media.media_fail(media_id=media_id, message=STORAGE_FAILED_MESSAGE)
                return
            if not self.request.is_eager:
                raise self.retry(exc=exc, countdown=retry_delay(retries))
            retries += 1


@shared_task(bind=True, max_retries=MEDIA_MAX_RETRIES, acks_late=True)
def refilter_media(self, media_id, filter):
    """Remake a processed image's variants with a new filter (a post chose it). Idempotent: only
    an image sent back to processing for this is touched; anything else is a no-op.

    Retries storage errors like `process_media`; after the last retry the row is marked failed.
    """
    from posts import media

    retries = self.request.retries or 0
    while True:
        try:
            media.media_refilter(media_id=media_id, filter=filter)
            return
        except media.StorageUnavailable as exc:
            if retries >= self.max_retries:
                media.media_fail(media_id=media_id, message=STORAGE_FAILED_MESSAGE)
                return
            if not self.request.is_eager:
                raise self.retry(exc=exc, countdown=retry_delay(retries))
            retries += 1


@shared_task(autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=300, max_retries=10)
def settle_post_media(post_id):
    """One of the post's media settled: publish the post, or mark it failed. Idempotent."""
    from posts import services

    services.post_media_settled(post_id=post_id)


LINK_PREVIEW_MAX_RETRIES = 2


@shared_task(bind=True, max_retries=LINK_PREVIEW_MAX_RETRIES, acks_late=True)
def fetch_link_preview(self, post_id):
    """Fetch a link post's preview card. Idempotent: skips a card already stored for its link.

    Only a timeout is retried (twice, with backoff); after that, or without a worker (eager mode,
    where a retry would hold up the request), the timeout is stored as the card's error.
    """
    from posts import link_preview

    final = self.request.is_eager or (self.request.retries or 0) >= self.max_retries
    try:
        link_preview.post_link_preview(post_id=post_id, final=final)
    except link_preview.PreviewTimeout as exc:
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries or 0))

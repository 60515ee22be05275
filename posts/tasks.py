"""Thin Celery tasks for posts: load by id, re-check state, call the code that does the work.

The media tasks (process_media, refilter_media) are media.tasks, under their old posts.tasks names."""

from celery import shared_task

from media.tasks import retry_delay


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
    from posts.link_preview import services
    from posts.link_preview.errors import PreviewTimeout

    final = self.request.is_eager or (self.request.retries or 0) >= self.max_retries
    try:
        services.post_link_preview(post_id=post_id, final=final)
    except PreviewTimeout as exc:
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries or 0))

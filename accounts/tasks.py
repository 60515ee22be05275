from celery import shared_task
from django.core.files.storage import default_storage

from socialsite.errors import STORAGE_ERRORS


@shared_task(bind=True, max_retries=5, default_retry_delay=30, acks_late=True)
def delete_stored_file(self, name):
    """Remove a replaced or erased file from storage. Idempotent: a missing file is fine."""
    try:
        default_storage.delete(name)
    except STORAGE_ERRORS as exc:  # storage down (or S3's breaker open): later
        raise self.retry(exc=exc)


@shared_task
def prune_token_families():
    """Delete sign-ins whose last refresh token has expired (beat, hourly)."""
    from accounts import tokens

    return tokens.prune_expired()

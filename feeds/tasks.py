"""Thin Celery tasks for the feed: load by id, call a service. All idempotent and retry-safe.

Queues: push_batch runs on fanout_high for followers active in the last FEED_HOT_HOURS and on
fanout_low for the rest, so one author's big fan-out waits behind nobody's small one; the
other tasks run on fanout_low. A batch is named by its post and number; its followers are in
the database (FanoutBatch), so a redelivered or resumed batch does what is left, once. Ids come as
text (JSON) and are parsed here: the services take UUIDs.
"""

from typing import Any

from celery import shared_task

from socialsite.params import parse_uuid

# Retried with backoff (1 s doubling to 5 min, 16 times: about 44 minutes in all), so a Redis
# or database outage delays fan-out instead of losing it; a timeline lost with Redis's memory
# is rebuilt on its next read.
RETRY: dict[str, Any] = {
    "autoretry_for": (Exception,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": False,
    "max_retries": 16,
}


@shared_task(**RETRY)
def fanout_post(post_id: str) -> None:
    from feeds import services

    services.fanout_post(post_id=parse_uuid(post_id))  # queues its batches through the outbox


@shared_task(**RETRY)
def push_batch(post_id: str, number: int) -> None:
    from feeds import services

    services.push_batch(post_id=parse_uuid(post_id), number=number)


@shared_task(**RETRY)
def withdraw_post(post_id: str) -> None:
    from feeds import services

    services.withdraw_post(post_id=parse_uuid(post_id))


@shared_task(**RETRY)
def follow_merge(follower_id: str, followed_id: str) -> None:
    from feeds import services

    services.follow_merge(follower_id=parse_uuid(follower_id), followed_id=parse_uuid(followed_id))


@shared_task(**RETRY)
def unfollow_purge(follower_id: str, followed_id: str) -> None:
    from feeds import services

    services.unfollow_purge(follower_id=parse_uuid(follower_id), followed_id=parse_uuid(followed_id))


@shared_task(**RETRY)
def finish_demotion(author_id: str) -> None:
    from feeds import services

    services.finish_demotion(author_id=parse_uuid(author_id))


@shared_task
def sync_tiers() -> int:
    from feeds import services

    return services.sync_all_tiers()

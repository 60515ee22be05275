"""Thin Celery tasks for notifications: ids in, a service call, idempotent and retry-safe.

A retried task adds nothing: every notification is unique per (recipient, key). All run on the
`notifications` queue; a post's bell subscribers are told in batches of NOTIFICATION_BATCH,
one task per batch, never one per subscriber. An id comes as text (JSON) and is parsed here, but
lists of recipients stay text (notify hands them to PostgreSQL as they are).
"""

from typing import Any

from celery import Task, shared_task

from socialsite.breakers import CircuitBreakerError, retry_later
from socialsite.params import parse_uuid

RETRY: dict[str, Any] = {
    "autoretry_for": (Exception,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": False,
    "max_retries": 10,
}


@shared_task(**RETRY)
def on_follow(follower_id: str, followed_id: str, via_request: bool = False) -> None:
    from notifications import services

    services.on_follow(
        follower_id=parse_uuid(follower_id), followed_id=parse_uuid(followed_id), via_request=via_request
    )


@shared_task(**RETRY)
def on_unfollow(follower_id: str, followed_id: str) -> None:
    from notifications import services

    services.withdraw(key=f"follow:{follower_id}", recipient_ids=[followed_id])
    services.bells_drop(subscriber_id=parse_uuid(follower_id), author_id=parse_uuid(followed_id))


@shared_task(**RETRY)
def on_follow_request(requester_id: str, target_id: str) -> None:
    from notifications import services

    services.on_follow_request(requester_id=parse_uuid(requester_id), target_id=parse_uuid(target_id))


@shared_task(**RETRY)
def withdraw(key: str, recipient_ids: list[str]) -> None:
    from notifications import services

    services.withdraw(key=key, recipient_ids=recipient_ids)


@shared_task(**RETRY)
def forget_between(user_id: str, other_id: str) -> None:
    from notifications import services

    services.forget_between(user_id=parse_uuid(user_id), other_id=parse_uuid(other_id))


@shared_task(**RETRY)
def on_like(user_id: str, post_id: str) -> None:
    from notifications import services

    services.on_like(user_id=parse_uuid(user_id), post_id=parse_uuid(post_id))


@shared_task(**RETRY)
def withdraw_like(user_id: str, post_id: str) -> None:
    from notifications import services

    services.withdraw_like(user_id=parse_uuid(user_id), post_id=parse_uuid(post_id))


@shared_task(**RETRY)
def on_comment(comment_id: str, mentioned_ids: list[str]) -> None:
    from notifications import services

    services.on_comment(comment_id=parse_uuid(comment_id), mentioned_ids=mentioned_ids)


@shared_task(**RETRY)
def on_post_published(post_id: str) -> None:
    from notifications import services
    from socialsite import outbox

    # Each batch is queued as the plan reads on, so workers start at once; a retry of this task
    # queues them all again, which notifies nobody twice.
    for subscriber_ids in services.on_post_published(post_id=parse_uuid(post_id)):
        outbox.enqueue(on_new_post_batch, post_id, subscriber_ids)


@shared_task(**RETRY)
def on_new_post_batch(post_id: str, subscriber_ids: list[str]) -> None:
    from notifications import services

    services.on_new_post_batch(post_id=parse_uuid(post_id), subscriber_ids=subscriber_ids)


@shared_task(**RETRY)
def on_post_failed(post_id: str) -> None:
    from notifications import services

    services.on_post_failed(post_id=parse_uuid(post_id))


@shared_task(**RETRY)
def on_message(message_id: str) -> None:
    from notifications import services

    services.on_message(message_id=parse_uuid(message_id))


@shared_task(**RETRY)
def on_group_membership(message_id: str) -> None:
    from notifications import services

    services.on_group_membership(message_id=parse_uuid(message_id))


@shared_task(**RETRY)
def on_moderation(action_id: int) -> None:
    from notifications import services

    services.on_moderation(action_id=action_id)


@shared_task(**RETRY)
def on_appeal_decided(appeal_id: str) -> None:
    from notifications import services

    services.on_appeal_decided(appeal_id=parse_uuid(appeal_id))


@shared_task(bind=True, **RETRY, dont_autoretry_for=(CircuitBreakerError,))
def push_notification(self: Task[Any, Any], notification_id: str) -> None:
    """Web Push one notification to its recipient's browsers (notifications/push.py): a retry
    sends only what failed. A push service's open breaker queues it again for the trial call
    without spending a retry."""
    from notifications import push

    try:
        push.send(notification_id=parse_uuid(notification_id))
    except push.PushServiceDown as exc:
        retry_later(self, exc.breaker, exc)


@shared_task
def prune_push_deliveries() -> int:
    """Forget which notifications were pushed, once no retry can ask (beat, hourly)."""
    from notifications import push

    return push.prune()

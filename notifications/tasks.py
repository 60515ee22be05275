"""Thin Celery tasks for notifications: ids in, a service call, idempotent and retry-safe.

A retried task adds nothing: every notification is unique per (recipient, key). All run on the
`notifications` queue; a post's bell subscribers are told in batches of NOTIFICATION_BATCH,
one task per batch, never one per subscriber.
"""

from typing import Any

from celery import shared_task

RETRY: dict[str, Any] = {
    "autoretry_for": (Exception,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": False,
    "max_retries": 10,
}


@shared_task(**RETRY)
def on_follow(follower_id, followed_id, via_request=False):
    from notifications import services

    services.on_follow(follower_id=follower_id, followed_id=followed_id, via_request=via_request)


@shared_task(**RETRY)
def on_unfollow(follower_id, followed_id):
    from notifications import services

    services.withdraw(key=f"follow:{follower_id}", recipient_ids=[followed_id])
    services.bells_drop(subscriber_id=follower_id, author_id=followed_id)


@shared_task(**RETRY)
def on_follow_request(requester_id, target_id):
    from notifications import services

    services.on_follow_request(requester_id=requester_id, target_id=target_id)


@shared_task(**RETRY)
def withdraw(key, recipient_ids):
    from notifications import services

    services.withdraw(key=key, recipient_ids=recipient_ids)


@shared_task(**RETRY)
def forget_between(user_id, other_id):
    from notifications import services

    services.forget_between(user_id=user_id, other_id=other_id)


@shared_task(**RETRY)
def on_like(user_id, post_id):
    from notifications import services

    services.on_like(user_id=user_id, post_id=post_id)


@shared_task(**RETRY)
def withdraw_like(user_id, post_id):
    from notifications import services

    services.withdraw_like(user_id=user_id, post_id=post_id)


@shared_task(**RETRY)
def on_comment(comment_id, mentioned_ids):
    from notifications import services

    services.on_comment(comment_id=comment_id, mentioned_ids=mentioned_ids)


@shared_task(**RETRY)
def on_post_published(post_id):
    from notifications import services
    from socialsite import outbox

    # Each batch is queued as the plan reads on, so workers start at once; a retry of this task
    # queues them all again, which notifies nobody twice.
    for subscriber_ids in services.on_post_published(post_id=post_id):
        outbox.enqueue(on_new_post_batch, post_id, subscriber_ids)


@shared_task(**RETRY)
def on_new_post_batch(post_id, subscriber_ids):
    from notifications import services

    services.on_new_post_batch(post_id=post_id, subscriber_ids=subscriber_ids)


@shared_task(**RETRY)
def on_post_failed(post_id):
    from notifications import services

    services.on_post_failed(post_id=post_id)


@shared_task(**RETRY)
def on_message(message_id):
    from notifications import services

    services.on_message(message_id=message_id)


@shared_task(**RETRY)
def on_group_membership(message_id):
    from notifications import services

    services.on_group_membership(message_id=message_id)


@shared_task(**RETRY)
def on_moderation(action_id):
    from notifications import services

    services.on_moderation(action_id=action_id)


@shared_task(**RETRY)
def on_appeal_decided(appeal_id):
    from notifications import services

    services.on_appeal_decided(appeal_id=appeal_id)

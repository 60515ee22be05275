"""Hooks from accounts, posts and messaging (explicit signals their services send).

Each receiver runs inside the sender's transaction and only queues a task for after the
commit; the task re-reads the state and makes the notifications (services.on_*).
"""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.dispatch import receiver

from accounts.signals import follow_request_closed, follow_requested, relationship_changed
from messaging.signals import message_sent
from notifications import tasks
from posts.signals import comment_posted, post_liked, post_published, post_unliked
from socialsite.realtime.events import after_events


def _later(task, *args):
    transaction.on_commit(lambda: task.delay(*args))


def _message_notification(message_id, conversation_id):
    """At most one on_message task per conversation per NOTIFICATION_MESSAGE_SECONDS: a burst of
    messages makes one notification, not one each (and costs the send path one cache write)."""
    window = settings.NOTIFICATION_MESSAGE_SECONDS
    if window > 0 and not cache.add(f"notifications:message-window:{conversation_id}", message_id, window):
        return
    tasks.on_message.delay(message_id)


@receiver(relationship_changed)
def relationship(sender, kind, user_id, other_id, via_request=False, **kwargs):
    user_id, other_id = str(user_id), str(other_id)
    if kind == "follow":
        _later(tasks.on_follow, user_id, other_id, via_request)
    elif kind == "unfollow":
        _later(tasks.on_unfollow, user_id, other_id)
    elif kind == "block":
        _later(tasks.forget_between, user_id, other_id)


@receiver(follow_requested)
def request_made(sender, requester_id, target_id, **kwargs):
    _later(tasks.on_follow_request, str(requester_id), str(target_id))


@receiver(follow_request_closed)
def request_closed(sender, requester_id, target_id, **kwargs):
    _later(tasks.withdraw, f"follow_request:{requester_id}", [str(target_id)])


@receiver(post_liked)
def liked(sender, user_id, post_id, **kwargs):
    _later(tasks.on_like, str(user_id), str(post_id))


@receiver(post_unliked)
def unliked(sender, user_id, post_id, **kwargs):
    _later(tasks.withdraw_like, str(user_id), str(post_id))


@receiver(comment_posted)
def commented(sender, comment, mentioned_ids, **kwargs):
    _later(tasks.on_comment, str(comment.pk), [str(pk) for pk in mentioned_ids])


@receiver(post_published)
def published(sender, post, **kwargs):
    _later(tasks.on_post_published, str(post.pk))


@receiver(message_sent)
def message(sender, message, **kwargs):
    args = str(message.pk), str(message.conversation_id)
    if tasks.on_message.app.conf.task_always_eager:
        transaction.on_commit(lambda: _message_notification(*args))
    else:  # the hottest path: off the sender's thread, once the message's events have left
        transaction.on_commit(lambda: after_events(_message_notification, *args))

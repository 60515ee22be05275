"""Hooks from accounts, posts and messaging (explicit signals their services send).

Each receiver runs inside the sender's transaction and only queues a task through the outbox
(written with the change, published after the commit); the task re-reads the state and makes
the notifications (services.on_*).
"""

from django.dispatch import receiver

from accounts.signals import follow_request_closed, follow_requested, relationship_changed
from messaging.signals import group_membership_changed, message_sent
from notifications import services, tasks
from posts.signals import (
    appeal_decided,
    comment_posted,
    moderation_taken,
    post_failed,
    post_liked,
    post_published,
    post_unliked,
)
from socialsite import outbox


@receiver(relationship_changed)
def relationship(sender, kind, user_id, other_id, via_request=False, **kwargs):
    user_id, other_id = str(user_id), str(other_id)
    # The bell counts what visible_to lets through: a block hides both ways, a mute the muter's.
    if kind in ("block", "unblock"):
        services.forget_unread([user_id, other_id])
    elif kind in ("mute", "unmute"):
        services.forget_unread([user_id])
    if kind == "follow":
        outbox.enqueue(tasks.on_follow, user_id, other_id, via_request)
    elif kind == "unfollow":
        outbox.enqueue(tasks.on_unfollow, user_id, other_id)
    elif kind == "block":
        outbox.enqueue(tasks.forget_between, user_id, other_id)


@receiver(follow_requested)
def request_made(sender, requester_id, target_id, **kwargs):
    outbox.enqueue(tasks.on_follow_request, str(requester_id), str(target_id))


@receiver(follow_request_closed)
def request_closed(sender, requester_id, target_id, **kwargs):
    outbox.enqueue(tasks.withdraw, f"follow_request:{requester_id}", [str(target_id)])


@receiver(post_liked)
def liked(sender, user_id, post_id, **kwargs):
    outbox.enqueue(tasks.on_like, str(user_id), str(post_id))


@receiver(post_unliked)
def unliked(sender, user_id, post_id, **kwargs):
    outbox.enqueue(tasks.withdraw_like, str(user_id), str(post_id))


@receiver(comment_posted)
def commented(sender, comment, mentioned_ids, **kwargs):
    outbox.enqueue(tasks.on_comment, str(comment.pk), [str(pk) for pk in mentioned_ids])


@receiver(post_published)
def published(sender, post, **kwargs):
    outbox.enqueue(tasks.on_post_published, str(post.pk))


@receiver(post_failed)
def failed(sender, post, **kwargs):
    outbox.enqueue(tasks.on_post_failed, str(post.pk))


@receiver(message_sent)
def message(sender, message, **kwargs):
    # A burst of messages makes one notification, not one each.
    if services.message_window_open(conversation_id=message.conversation_id):
        outbox.enqueue(tasks.on_message, str(message.pk))


@receiver(group_membership_changed)
def group_membership(sender, message, **kwargs):
    outbox.enqueue(tasks.on_group_membership, str(message.pk))


@receiver(moderation_taken)
def moderated(sender, action, **kwargs):
    outbox.enqueue(tasks.on_moderation, action.pk)


@receiver(appeal_decided)
def appeal(sender, appeal, **kwargs):
    outbox.enqueue(tasks.on_appeal_decided, str(appeal.pk))

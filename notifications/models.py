"""Notifications: what happened to a user, who did it, and to what; per-type preferences; bells.

A row is made once per (recipient, key): `key` names the event ("like:<post>:<user>"), so a
retried task or a repeated action can't notify twice. `group_key` puts rows that read as one line
together ("Ana and 12 others liked your post"): the same type and target within a time bucket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from uuid6 import uuid7

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


class NotificationQuerySet(models.QuerySet["Notification"]):
    def visible_to(self, user: User | AnonymousUser | None) -> Self:
        """The user's own notifications whose actor and target they may still see.

        The one place that decides it. Producers notify only about posts the recipient could
        see then (and skip blocked, muted and deactivated actors); this hides what changed
        since: a block or mute, a deactivated actor or post author, a deleted or hidden post
        or comment. It checks the post's own columns rather than all of Post.visible_to: that
        one as a subquery made PostgreSQL hash every visible post (300 ms a page at 200k posts).
        """
        from accounts.models import Block, Mute

        if user is None or not user.is_authenticated:
            return self.none()

        def blocked_with(other: str) -> Exists:
            return Exists(
                Block.objects.filter(
                    Q(blocker=user, blocked=OuterRef(other)) | Q(blocker=OuterRef(other), blocked=user)
                )
            )

        muted = Mute.objects.filter(muter=user, muted=OuterRef("actor"))
        post_gone = (
            Q(post__deleted_at__isnull=False) | Q(post__hidden_at__isnull=False) | Q(post__author__is_active=False)
        )
        comment_gone = Q(comment__deleted_at__isnull=False) | Q(comment__hidden_at__isnull=False)
        return (
            self.filter(recipient=user, actor__is_active=True)
            .exclude(blocked_with("actor") | Exists(muted))
            .exclude(Q(post__isnull=False) & (post_gone | blocked_with("post__author")))
            .exclude(Q(comment__isnull=False) & comment_gone)
        )

    def unread(self) -> Self:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    class Type(models.TextChoices):
        FOLLOW = "follow"
        FOLLOW_REQUEST = "follow_request"
        FOLLOW_ACCEPTED = "follow_accepted"
        LIKE = "like"
        COMMENT = "comment"
        REPLY = "reply"
        MENTION = "mention"
        SHARE = "share"
        MESSAGE = "message"
        NEW_POST = "new_post"
        POST_FAILED = "post_failed"  # to the author: a photo or video failed, the post won't go out
        GROUP_ADDED = "group_added"  # someone added you to a group conversation
        GROUP_REMOVED = "group_removed"  # an admin removed you from a group conversation
        MODERATION = "moderation"  # a moderator acted on your account or content; payload says what and why

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # No database constraint on recipient, actor or post: checking them cost a third of a bulk
    # insert (a locked row per recipient). The insert reads each recipient as it goes, the task
    # read the actor and post, and deleting any of them deletes its rows here (on_delete).
    # notifications_recipient_idx leads with recipient, so it needs no index of its own.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
        db_constraint=False,
    )
    type = models.CharField(max_length=16, choices=Type.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    post = models.ForeignKey(
        "posts.Post", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    # Most rows have neither: partial indexes below, for the cascade when one is deleted.
    comment = models.ForeignKey(
        "posts.Comment", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    conversation = models.ForeignKey(
        "messaging.Conversation", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    payload = models.JSONField(default=dict, blank=True, help_text="What the line shows, e.g. a comment's excerpt.")
    key = models.CharField(max_length=120, help_text="The event, once per recipient: retries don't duplicate.")
    group_key = models.CharField(max_length=160, help_text="Rows with the same group_key show as one line.")
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    objects = NotificationQuerySet.as_manager()

    class Meta:
        # Each index is written 1,000 times per batch of a celebrity's post: the grouped view reads
        # a user's rows through notifications_recipient_idx rather than keep an index of its own.
        constraints = [models.UniqueConstraint(fields=["recipient", "key"], name="notifications_once_per_event")]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notifications_recipient_idx"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notifications_unread_idx"),
            models.Index(fields=["comment"], condition=Q(comment__isnull=False), name="notifications_comment_idx"),
            models.Index(
                fields=["conversation"], condition=Q(conversation__isnull=False), name="notifications_conversation_idx"
            ),
        ]

    def __str__(self):
        return f"{self.type} for {self.recipient_id} from {self.actor_id}"

    @property
    def read_status(self):
        return self.read_at is not None


class Preferences(models.Model):
    """Which types a user wants; no row means all of them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    follow = models.BooleanField(default=True)
    follow_request = models.BooleanField(default=True)
    follow_accepted = models.BooleanField(default=True)
    like = models.BooleanField(default=True)
    comment = models.BooleanField(default=True)
    reply = models.BooleanField(default=True)
    mention = models.BooleanField(default=True)
    share = models.BooleanField(default=True)
    message = models.BooleanField(default=True)
    new_post = models.BooleanField(default=True)
    post_failed = models.BooleanField(default=True)
    group_added = models.BooleanField(default=True)
    group_removed = models.BooleanField(default=True)

    # A moderator's word on your account or content always reaches you: it has no switch.
    SWITCHABLE = tuple(kind for kind in Notification.Type.values if kind != Notification.Type.MODERATION)

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self):
        return f"notification preferences of {self.user_id}"

    def as_dict(self):
        return {kind: getattr(self, kind) for kind in self.SWITCHABLE}


class Bell(models.Model):
    """The bell on a follow: the subscriber hears about every new post of the author."""

    subscriber = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bells")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subscriber", "author"], name="notifications_bell_unique")]
        indexes = [models.Index(fields=["author", "id"], name="notifications_bell_author_idx")]

    def __str__(self):
        return f"{self.subscriber_id} 🔔 {self.author_id}"


class MessageWindow(models.Model):
    """Until when a conversation's messages make no new notification: a burst within
    NOTIFICATION_MESSAGE_SECONDS is one. Kept in the message's own transaction (receivers), so
    a message that doesn't commit can't hold back the next one's notification."""

    conversation_id = models.UUIDField(primary_key=True)
    until = models.DateTimeField()

    def __str__(self):
        return f"{self.conversation_id} quiet until {self.until}"


class PushSubscription(models.Model):
    """One browser's Web Push subscription (PushManager.subscribe): where to POST and the keys
    to encrypt for. A browser has one endpoint; it belongs to whoever subscribed there last."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=100, help_text="The browser's P-256 public key, base64url.")
    auth = models.CharField(max_length=32, help_text="The browser's 16-byte auth secret, base64url.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0, help_text="Failed sends since the last success.")

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"], name="notifications_push_user_idx")]

    def __str__(self):
        return f"push subscription of {self.user_id}"


class PushDelivery(models.Model):
    """A notification pushed (or being pushed) to one subscription: a retried task skips it.

    The row is claimed before the send (`sent_at` empty) and confirmed after; a failed send
    drops the claim so the retry sends again, and a claim left by a worker that died is taken
    over once it is older than a send can take (notifications.push). Rows are only needed while
    a task may still run: `prune_push_deliveries` deletes them after WEBPUSH_DELIVERY_KEEP_HOURS.
    The notification is an id, not a foreign key: a key pointing at Notification would make
    Django load every notification a deleted post or user takes with it (a celebrity's: millions)
    instead of deleting them in one statement."""

    notification_id = models.UUIDField()
    subscription = models.ForeignKey(PushSubscription, on_delete=models.CASCADE, related_name="+", db_index=False)
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "push deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "notification_id"], name="notifications_push_once"),
        ]
        indexes = [models.Index(fields=["claimed_at"], name="notifications_push_claimed_idx")]

    def __str__(self):
        return f"{self.notification_id} → {self.subscription_id}"

"""Direct messages: 1:1 and group conversations, members with read cursors, messages, reports.

Order within a conversation is `Message.seq`, handed out under a lock on the conversation row,
so it is the commit order: a client that holds seq N and asks for "after N" never misses a
message that committed later with an earlier id. Receipts are per member cursors, not per
message rows: a member has received everything up to `delivered_seq` and read everything up to
`read_seq`, so a group message costs one row whatever the group size.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from uuid6 import uuid7


class Conversation(models.Model):
    class Kind(models.TextChoices):
        DIRECT = "direct"
        GROUP = "group"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    kind = models.CharField(max_length=6, choices=Kind.choices)
    title = models.CharField(max_length=100, blank=True)
    # "<lower user id>:<higher user id>" for a 1:1, so each pair has exactly one.
    direct_key = models.CharField(max_length=73, null=True, blank=True, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_message = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="direct", direct_key__isnull=False) | Q(kind="group", direct_key__isnull=True),
                name="messaging_conversation_direct_key",
            )
        ]

    def __str__(self):
        return self.title or f"{self.kind} conversation {self.id}"

    # Not stored: prefetched by messaging.selectors (to_attr).
    all_members: list["Membership"]

    @property
    def active_members(self):
        """The current members, from `all_members` (prefetched by messaging.selectors: no query)."""
        return [member for member in self.all_members if member.left_at is None]


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member"
        ADMIN = "admin"

    class Folder(models.TextChoices):
        INBOX = "inbox"
        REQUESTS = "requests"  # from someone the member doesn't follow, while they accept only followees

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=6, choices=Role.choices, default=Role.MEMBER)
    folder = models.CharField(max_length=8, choices=Folder.choices, default=Folder.INBOX)
    joined_at = models.DateTimeField(auto_now_add=True)
    # A member sees the messages after joined_seq (a group's earlier history stays private) and,
    # after leaving or being removed, up to left_seq: they keep what they saw, get nothing new.
    joined_seq = models.PositiveBigIntegerField(default=0)
    left_at = models.DateTimeField(null=True, blank=True)
    left_seq = models.PositiveBigIntegerField(null=True, blank=True)
    delivered_seq = models.PositiveBigIntegerField(default=0)
    read_seq = models.PositiveBigIntegerField(default=0)
    unread_count = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(auto_now_add=True)  # the inbox order: the conversation's latest
    # An admin removed them (not a leave): the conversation stays in their inbox, read-only, its
    # last line the one saying so. Cleared when they are added back.
    removed = models.BooleanField(default=False)

    # Not stored: set by messaging.selectors.for_display.
    last_message: "Message | None"

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "user"], name="messaging_membership_unique")]
        indexes = [
            models.Index(fields=["user", "folder", "-last_message_at"], name="messaging_inbox_idx"),
        ]

    def __str__(self):
        return f"{self.user_id} in {self.conversation_id}"

    @property
    def active(self):
        return self.left_at is None


class Message(models.Model):
    """A member's message, or a system line (a group renamed, members added, removed, leaving, a
    new admin): it takes the next seq like any message, its sender is who acted, `content` is its
    text as written then, and `system` holds the ids. System lines count as nobody's unread and
    notify nobody, and nobody can edit, delete or report them."""

    class Kind(models.TextChoices):
        TEXT = "text"
        RENAMED = "renamed"  # system: {"actor_id", "target_ids": [], "title"}
        ADDED = "added"  # system: {"actor_id", "target_ids": [who joined]}
        REMOVED = "removed"  # system: {"actor_id", "target_ids": [who was removed]}
        LEFT = "left"  # system: {"actor_id": who left, "target_ids": []}
        PROMOTED = "promoted"  # system: {"actor_id", "target_ids": [the new admin]}

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveBigIntegerField()
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages_sent")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEXT)
    system = models.JSONField(default=dict, blank=True, help_text="A system line's actor and target ids.")
    content = models.TextField()
    # The message this one answers, in the same conversation; null when it isn't a reply (or the
    # target is gone with its sender's account). A deleted target shows as deleted.
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # The sending client's id for this message: a retried send returns the first one.
    client_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)  # content erased; the place in the thread stays

    # Not stored: set by messaging.selectors.with_status and for_display.
    status: str
    read_by: list[str]
    reaction_rows: list["Reaction"]

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="messaging_message_seq_unique"),
            models.UniqueConstraint(
                fields=["sender", "client_id"], condition=~Q(client_id=""), name="messaging_message_client_id_unique"
            ),
        ]

    def __str__(self):
        return f"message {self.id} in {self.conversation_id}"

    @property
    def is_system(self):
        return self.kind != self.Kind.TEXT


class Reaction(models.Model):
    """A member's emoji on a message: one of REACTION_EMOJI, at most once per emoji per member."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_reactions")
    emoji = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "emoji"], name="messaging_reaction_unique"),
        ]

    def __str__(self):
        return f"{self.emoji} by {self.user_id} on {self.message_id}"


# The emoji a member can react with, in the order the chat page offers them.
REACTION_EMOJI = ("👍", "❤️", "😂", "😮", "😢", "🙏")


class Preferences(models.Model):
    """Who may start a conversation that lands in the user's inbox."""

    class DirectFrom(models.TextChoices):
        EVERYONE = "everyone"
        FOLLOWING = "following"  # others land in the requests folder

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="messaging_preferences"
    )
    direct_from = models.CharField(max_length=9, choices=DirectFrom.choices, default=DirectFrom.EVERYONE)

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self):
        return f"{self.user_id}: messages from {self.direct_from}"


class MessageReport(models.Model):
    """A member's report of a message: the only way moderators see a conversation's content."""

    class Reason(models.TextChoices):
        SPAM = "spam"
        HARASSMENT = "harassment"
        HATE = "hate"
        VIOLENCE = "violence"
        NUDITY = "nudity"
        SELF_HARM = "self_harm"
        OTHER = "other"

    class Status(models.TextChoices):
        OPEN = "open"
        ACTIONED = "actioned"
        DISMISSED = "dismissed"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_reports")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reports")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    details = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.CharField(max_length=500, blank=True, help_text="The moderator's reason.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "message"], condition=Q(status="open"), name="messaging_report_open_unique"
            )
        ]

    def __str__(self):
        return f"report {self.id} ({self.reason}, {self.status})"

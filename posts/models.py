"""Posts, their media, hashtags, tags, likes, comments and shares.

Every read goes through `Post.objects.visible_to(viewer)` (and the comment equivalent), which
decides visibility in one place: drafts waiting for media, deletion, moderation, blocks,
private accounts and the post's own audience.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Self, cast

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from uuid6 import uuid7

if TYPE_CHECKING:
    from uuid import UUID

    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


class Hashtag(models.Model):
    # Stored normalized (NFKC, casefolded); see posts.text.normalize_hashtag.
    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"#{self.name}"


class PostQuerySet(models.QuerySet["Post"]):
    def visible_to(self, viewer: User | AnonymousUser | None) -> Self:
        """Posts the viewer may see. The one place that decides post visibility."""
        return self._visible_to_id(viewer.pk if viewer is not None and viewer.is_authenticated else None)

    def _visible_to_id(self, viewer_id: UUID | None) -> Self:
        from accounts.models import Block, Follow

        qs = self.filter(deleted_at__isnull=True, hidden_at__isnull=True, author__is_active=True)
        if viewer_id is None:
            return qs.filter(
                status=Post.Status.PUBLISHED, visibility=Post.Visibility.PUBLIC, author__profile__is_private=False
            )
        follows_author = Exists(Follow.objects.filter(follower_id=viewer_id, followed=OuterRef("author")))
        tagged = Exists(PostTag.objects.filter(post=OuterRef("pk"), user_id=viewer_id))
        # Two NOT IN lists, each read once, not an EXISTS with an OR per post: a search or a
        # page that filters thousands of posts probed the block index twice for each.
        blocked = Q(author__in=Block.objects.filter(blocked_id=viewer_id).values("blocker")) | Q(
            author__in=Block.objects.filter(blocker_id=viewer_id).values("blocked")
        )
        audience = (
            Q(visibility=Post.Visibility.PUBLIC, author__profile__is_private=False)
            | Q(visibility__in=[Post.Visibility.PUBLIC, Post.Visibility.FOLLOWERS], follows_author=True)
            | Q(visibility=Post.Visibility.MENTIONED, tagged=True)
        )
        return qs.alias(follows_author=follows_author, tagged=tagged).filter(
            Q(author_id=viewer_id) | (Q(status=Post.Status.PUBLISHED) & ~blocked & audience)
        )


_PostManagerBase = models.Manager.from_queryset(PostQuerySet)


class PostManager(_PostManagerBase):
    def visible_to(self, viewer: User | AnonymousUser | None) -> PostQuerySet:
        """`PostQuerySet.visible_to`, built once per viewer in this process and copied after:
        building it is ~1 ms of ORM work, and a search or a page asks for it two or three times.
        It holds nothing but the viewer's id (follows and blocks are read when it runs), so a copy
        is as good as a new one."""
        if type(self) is not PostManager:  # a related manager (user.posts): its own filter first
            return cast(PostQuerySet, self.get_queryset()).visible_to(viewer)  # from_queryset: a PostQuerySet
        return _visible_posts(viewer.pk if viewer is not None and viewer.is_authenticated else None).all()


# Measured: docs/performance.md, "The per-viewer visible_to cache" (post search 12-14% faster).
@functools.lru_cache(maxsize=256)  # ~36 KB each: the viewers of the requests in flight, and some
def _visible_posts(viewer_id: UUID | None) -> PostQuerySet:
    return PostQuerySet(Post)._visible_to_id(viewer_id)


class Post(models.Model):
    class ContentType(models.TextChoices):
        TEXT = "text"
        IMAGE = "image"
        VIDEO = "video"
        LINK = "link"

    class Visibility(models.TextChoices):
        PUBLIC = "public"
        FOLLOWERS = "followers"
        MENTIONED = "mentioned"

    class Status(models.TextChoices):
        PENDING_MEDIA = "pending_media"  # waiting for its media to finish processing
        PUBLISHED = "published"
        FAILED = "failed"  # a media item failed; only the author sees why

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts")
    content_type = models.CharField(max_length=10, choices=ContentType.choices, default=ContentType.TEXT)
    content = models.TextField(blank=True)
    content_html = models.TextField(blank=True, help_text="Sanitized rendering of content, made on write.")
    # A content warning: plain text (posts.text.plain_line), shown instead of the content until tapped.
    # The database's default too: the benchmarks COPY posts in without naming it.
    spoiler_text = models.CharField(max_length=200, blank=True, default="", db_default="")
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.PUBLISHED, db_index=True)
    filter = models.CharField(max_length=20, blank=True)
    hashtags = models.ManyToManyField(Hashtag, blank=True, related_name="posts")
    shared_post = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="shares", help_text="Repost or quote of"
    )
    link_url = models.URLField(max_length=2000, blank=True)
    link_preview = models.JSONField(default=dict, blank=True, help_text="{title, description, site_name, image}")
    likes_count = models.PositiveIntegerField(default=0)
    comments_count = models.PositiveIntegerField(default=0)
    shares_count = models.PositiveIntegerField(default=0)
    edited = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # When it first became visible (a post waiting for its media is composed earlier); feeds
    # order by it, so a slow video still arrives as new.
    published_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True, help_text="Hidden by a moderator.")
    # Pinned by its author to the top of their profile (at most PINS_MAX, posts.services.post_pin).
    # A field, not a table: a pin belongs to the author's own post and has no data of its own, so
    # the profile reads its pins from the rows it reads anyway, with no join.
    pinned_at = models.DateTimeField(null=True, blank=True)

    objects = PostManager()

    class Meta:
        indexes = [
            models.Index(fields=["author", "-created_at"], name="posts_post_author_created_idx"),
            models.Index(fields=["author", "-published_at", "-id"], name="posts_post_author_pub_idx"),
        ]

    def __str__(self):
        return f"post {self.id} by {self.author_id}"

    @property
    def is_repost(self):
        """A share without words of its own: likes, comments and shares of it go to the original."""
        return self.shared_post_id is not None and not self.content.strip()


class PostTag(models.Model):
    """A user named in a post: @mentioned in the text, or tagged on a photo."""

    class Kind(models.TextChoices):
        MENTION = "mention"
        PHOTO = "photo"

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="tags")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="post_tags")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MENTION)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="posts_posttag_unique")]

    def __str__(self):
        return f"{self.user_id} {self.kind} in {self.post_id}"


class Like(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="posts_like_unique")]
        indexes = [models.Index(fields=["post", "-created_at"], name="posts_like_post_created_idx")]

    def __str__(self):
        return f"{self.user_id} likes {self.post_id}"


class Bookmark(models.Model):
    """A post the user saved for later. Private: only its user ever sees it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bookmarks")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="bookmarks")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="posts_bookmark_unique")]
        indexes = [models.Index(fields=["user", "-created_at"], name="posts_bookmark_user_idx")]

    def __str__(self):
        return f"{self.user_id} bookmarked {self.post_id}"


class CommentQuerySet(models.QuerySet["Comment"]):
    def visible_to(self, viewer: User | AnonymousUser | None) -> Self:
        """Comments neither deleted nor hidden, by active authors not blocked either way.

        The post's own visibility is checked by whoever reaches the comments through a post.
        """
        from accounts.models import Block

        qs = self.filter(deleted_at__isnull=True, hidden_at__isnull=True, author__is_active=True)
        if viewer is None or not viewer.is_authenticated:
            return qs
        blocked = Block.objects.filter(
            Q(blocker=viewer, blocked=OuterRef("author")) | Q(blocker=OuterRef("author"), blocked=viewer)
        )
        return qs.exclude(Exists(blocked))


class Comment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    content = models.TextField()
    content_html = models.TextField(blank=True)
    replies_count = models.PositiveIntegerField(default=0)
    edited = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)

    objects = CommentQuerySet.as_manager()

    # Not stored: set by posts.selectors.comment_thread on the comments of a thread it shows.
    depth: int
    children: list[Comment]
    continue_thread: bool

    class Meta:
        indexes = [models.Index(fields=["post", "parent", "created_at"], name="posts_comment_thread_idx")]

    def __str__(self):
        return f"comment {self.id} on {self.post_id}"


class Report(models.Model):
    """A user's report of a post, a comment or an account, waiting in the moderators' queue."""

    class Reason(models.TextChoices):
        SPAM = "spam"
        HARASSMENT = "harassment"
        HATE = "hate"
        VIOLENCE = "violence"
        NUDITY = "nudity"
        MISINFORMATION = "misinformation"
        SELF_HARM = "self_harm"
        OTHER = "other"

    class Status(models.TextChoices):
        OPEN = "open"
        ACTIONED = "actioned"
        DISMISSED = "dismissed"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made")
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="reports_received"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    details = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports_resolved"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(post__isnull=False, comment__isnull=True, user__isnull=True)
                    | Q(post__isnull=True, comment__isnull=False, user__isnull=True)
                    | Q(post__isnull=True, comment__isnull=True, user__isnull=False)
                ),
                name="posts_report_one_target",
            ),
            # One open report per reporter and target: a repeated report is the same report.
            models.UniqueConstraint(
                fields=["reporter", "post"],
                condition=Q(status="open", post__isnull=False),
                name="posts_report_open_post",
            ),
            models.UniqueConstraint(
                fields=["reporter", "comment"],
                condition=Q(status="open", comment__isnull=False),
                name="posts_report_open_comment",
            ),
            models.UniqueConstraint(
                fields=["reporter", "user"],
                condition=Q(status="open", user__isnull=False),
                name="posts_report_open_user",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="posts_report_queue_idx")]

    def __str__(self):
        return f"report {self.id} ({self.reason}, {self.status})"


class ModerationAction(models.Model):
    """The audit trail: who did what to which content or account, when, and why."""

    class Action(models.TextChoices):
        HIDE = "hide"
        REMOVE = "remove"
        RESTORE = "restore"
        WARN = "warn"
        SUSPEND = "suspend"
        UNSUSPEND = "unsuspend"
        DISMISS = "dismiss"
        HIDE_TREND = "hide_trend"  # a trending hashtag hidden (search.trends); `hashtag` names it
        SHOW_TREND = "show_trend"
        UPHOLD = "uphold"  # an appeal decided: the action stands
        REVERSE = "reverse"  # an appeal of a warning granted (hide, remove, suspend reverse as restore, unsuspend)

    # What the person acted on may appeal (Appeal); the others undo or close something.
    APPEALABLE = (Action.WARN, Action.HIDE, Action.REMOVE, Action.SUSPEND)

    moderator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="moderation_actions")
    action = models.CharField(max_length=16, choices=Action.choices)
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="moderation_actions")
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.SET_NULL, related_name="moderation_actions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="moderation_actions_received",
        help_text="The account acted on, or the author of the content acted on.",
    )
    hashtag = models.ForeignKey(
        Hashtag, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="A hidden trend."
    )
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions")
    reason = models.CharField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    dismissed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the warned account dismissed the warning's banner."
    )

    def __str__(self):
        return f"{self.moderator_id} {self.action} at {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def target_type(self):
        """What was acted on, as its owner reads it: "post", "comment" or "account"."""
        if self.post_id is not None:
            return "post"
        if self.comment_id is not None:
            return "comment"
        return "account"


class Appeal(models.Model):
    """The person a moderator acted on asks for a second look: a ticket in the moderators' admin.

    One open appeal per action; a decided appeal is final (the decision is audited as a
    ModerationAction: uphold, or the restore/unsuspend/reverse that undid the action)."""

    class Status(models.TextChoices):
        OPEN = "open"
        UPHELD = "upheld"
        REVERSED = "reversed"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    action = models.ForeignKey(ModerationAction, on_delete=models.PROTECT, related_name="appeals")
    appellant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="appeals")
    message = models.TextField(max_length=2000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="appeals_decided"
    )
    decision = models.ForeignKey(
        ModerationAction,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The audit row of the decision.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["action"], condition=Q(status="open"), name="posts_appeal_one_open")
        ]

    def __str__(self):
        return f"appeal {self.id} ({self.status})"

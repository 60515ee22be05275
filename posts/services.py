"""Writes for posts: create, edit, delete, media settling, likes, comments and shares.

Every function is keyword-only and runs in one transaction. Counters move with F()
expressions so concurrent writers never lose an update.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, Literal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from accounts.selectors import blocked_between
from media import tasks as media_tasks
from media.models import Media
from posts import selectors, tasks, text
from posts.models import Bookmark, Comment, Hashtag, Like, Post, PostTag
from posts.signals import (
    comment_posted,
    post_edited,
    post_failed,
    post_liked,
    post_published,
    post_unliked,
    post_withdrawn,
)
from socialsite import metrics, outbox
from socialsite.errors import ConflictError, ForbiddenError, NotFoundError, ServiceError
from socialsite.params import parse_uuid

if TYPE_CHECKING:
    from uuid import UUID

    from accounts.models import User as UserModel

User = get_user_model()
logger = logging.getLogger(__name__)

FILTERS = ("grayscale", "sepia", "vivid", "cool", "warm", "fade")
MAX_IMAGES = 10
MAX_TAGGED_USERS = 20
MAX_MENTIONS = 20
PINS_MAX = 3


# --- Helpers -----------------------------------------------------------------------------------


def _check_content(content: str | None, *, limit: int, field: str = "content") -> str:
    content = content or ""
    if len(content) > limit:
        raise ServiceError(
            f"At most {limit} characters.", code="too_long", fields={field: [f"At most {limit} characters."]}
        )
    return content


def _check_spoiler(spoiler_text: str | None) -> str:
    """A content warning as plain text (posts.text.plain_line), at most SPOILER_MAX_CHARS."""
    cleaned = text.plain_line(spoiler_text)
    return _check_content(cleaned, limit=text.SPOILER_MAX_CHARS, field="spoiler_text")


def _mentioned_users(author: UserModel, content: str, *, enforce_blocks: bool = True) -> dict[str, UserModel]:
    """{lower username: user} for the @mentions that name active accounts."""
    names = text.mentions(content)[: MAX_MENTIONS * 2]
    if not names:
        return {}
    users = (
        User.objects.annotate(lower_username=Lower("username"))
        .filter(lower_username__in=names, is_active=True)
        .select_related("profile")  # the new post's payload shows them
    )
    found: dict[str, UserModel] = {user.lower_username: user for user in users}
    if len(found) > MAX_MENTIONS:
        raise ServiceError(f"At most {MAX_MENTIONS} mentions.", fields={"content": ["Too many mentions."]})
    if enforce_blocks:
        for user in found.values():
            if user.pk != author.pk and blocked_between(author, user):
                raise ForbiddenError(f"You can't mention @{user.username}.", code="tag_blocked")
    return found


def _tagged_users(author: UserModel, tagged_user_ids: Iterable[UUID | str] | None) -> list[UserModel]:
    ids: list[UUID] = []
    for value in tagged_user_ids or ():
        pk = parse_uuid(value, "No such user to tag.")
        if pk not in ids:
            ids.append(pk)
    if len(ids) > MAX_TAGGED_USERS:
        raise ServiceError(f"At most {MAX_TAGGED_USERS} tagged users.", fields={"tagged_user_ids": ["Too many users."]})
    users = list(User.objects.filter(pk__in=ids, is_active=True).select_related("profile")) if ids else []
    if len(users) != len(ids):
        raise NotFoundError("No such user to tag.", fields={"tagged_user_ids": ["Unknown user."]})
    for user in users:
        if user.pk != author.pk and blocked_between(author, user):
            raise ForbiddenError("You can't tag this account.", code="tag_blocked")
    return users


def _sync_hashtags(post: Post, *, new: bool = False) -> list[Hashtag]:
    """The post's hashtags follow its text; a new post with none costs no query."""
    names = text.hashtags(post.content)
    if new and not names:
        return []
    if not names:
        post.hashtags.clear()
        return []
    tags = _hashtags_made(names)
    if new:  # nothing to remove or to check for: one insert
        Post.hashtags.through.objects.bulk_create([Post.hashtags.through(post=post, hashtag=tag) for tag in tags])
    else:
        post.hashtags.set(tags)
    return tags


def _hashtags_made(names: Sequence[str]) -> list[Hashtag]:
    """The hashtags of these names, inserting the new ones. On PostgreSQL in one statement: the
    insert returns the new rows and the same statement reads the others (an upsert that returns
    them all would lock a popular tag's row until the commit, making its posts wait in line)."""
    if connection.vendor != "postgresql":
        Hashtag.objects.bulk_create([Hashtag(name=name) for name in names], ignore_conflicts=True)
        return list(Hashtag.objects.filter(name__in=names))
    table = connection.ops.quote_name(Hashtag._meta.db_table)
    sql = (
        "WITH wanted (name) AS (SELECT unnest(%s::varchar[])), "  # noqa: S608 -- the table's own name
        f"made AS (INSERT INTO {table} (name, created_at) SELECT name, %s FROM wanted "
        "ON CONFLICT (name) DO NOTHING RETURNING id, name, created_at) "
        f"SELECT id, name, created_at FROM made UNION ALL SELECT id, name, created_at FROM {table} JOIN wanted USING (name)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(names), timezone.now()])
        found = {row[1]: Hashtag.from_db(connection.alias, ["id", "name", "created_at"], row) for row in cursor}
    missing = [name for name in names if name not in found]
    if missing:  # inserted by a transaction that committed after this statement began
        found.update((tag.name, tag) for tag in Hashtag.objects.filter(name__in=missing))
    return list(found.values())


def _sync_mentions(
    post: Post, mentioned: Mapping[str, UserModel], *, photo_tagged: Sequence[UserModel] | None = None
) -> list[PostTag]:
    """Mention tags follow the text; photo tags stay as they are. `photo_tagged`: the photo tags of
    a post just created (so nothing needs reading); returns the mention tags it created."""
    if photo_tagged is not None:
        skip = {user.pk for user in photo_tagged}
        made = [
            PostTag(post=post, user=user, kind=PostTag.Kind.MENTION)
            for user in mentioned.values()
            if user.pk not in skip
        ]
        return PostTag.objects.bulk_create(made) if made else []
    if not mentioned:  # one delete, nothing to read
        post.tags.filter(kind=PostTag.Kind.MENTION).delete()
        return []
    photo_ids = set(post.tags.filter(kind=PostTag.Kind.PHOTO).values_list("user_id", flat=True))
    wanted = {user.pk for user in mentioned.values()} - photo_ids
    post.tags.filter(kind=PostTag.Kind.MENTION).exclude(user_id__in=wanted).delete()
    existing = set(post.tags.filter(kind=PostTag.Kind.MENTION).values_list("user_id", flat=True))
    return PostTag.objects.bulk_create(
        [PostTag(post=post, user_id=pk, kind=PostTag.Kind.MENTION) for pk in wanted - existing]
    )


def _load_media(author: UserModel, media_ids: Iterable[UUID | str] | None) -> list[Media]:
    ids: list[UUID] = []
    for value in media_ids or ():
        pk = parse_uuid(value, "No such media.")
        if pk in ids:
            raise ServiceError("The same media is listed twice.", fields={"media_ids": ["Duplicate media."]})
        ids.append(pk)
    if not ids:  # a text post: no queryset to build (it would run no query anyway)
        return []
    found = {m.pk: m for m in Media.objects.select_for_update().filter(pk__in=ids, owner=author)}
    if len(found) != len(ids):
        raise ServiceError("Some media don't exist or aren't yours.", fields={"media_ids": ["Unknown media."]})
    media = [found[pk] for pk in ids]
    for item in media:
        if item.post_id is not None:
            raise ServiceError(
                "Some media are already attached to a post.", fields={"media_ids": ["Already attached."]}
            )
        if item.status == Media.Status.FAILED:
            raise ServiceError(
                "Some media failed processing.", fields={"media_ids": [item.error or "Processing failed."]}
            )
    return media


def _content_type_of(media: Sequence[Media]) -> Post.ContentType:
    if not media:
        return Post.ContentType.TEXT
    return Post.ContentType.VIDEO if media[0].kind == Media.Kind.VIDEO else Post.ContentType.IMAGE


def _check_media(content_type: str, media: Sequence[Media]) -> None:
    kinds = {item.kind for item in media}
    if content_type == Post.ContentType.IMAGE:
        if not 1 <= len(media) <= MAX_IMAGES or kinds != {Media.Kind.IMAGE}:
            raise ServiceError(
                f"An image post needs 1 to {MAX_IMAGES} images.", fields={"media_ids": ["1 to 10 images."]}
            )
    elif content_type == Post.ContentType.VIDEO:
        if len(media) != 1 or kinds != {Media.Kind.VIDEO}:
            raise ServiceError("A video post needs exactly one video.", fields={"media_ids": ["Exactly one video."]})
    elif media:
        raise ServiceError(
            f"A {content_type} post takes no media.", fields={"media_ids": ["Not allowed for this post type."]}
        )


def _get_for_update(post_id: UUID | str) -> Post:
    pk = parse_uuid(post_id, "No such post.")
    try:
        return Post.objects.select_for_update().get(pk=pk)
    except Post.DoesNotExist:
        raise NotFoundError("No such post.")


def _visible_published(user: UserModel, post_id: UUID | str | None) -> Post:
    """The post, locked, when `user` may see it and it is published; else NotFoundError."""
    pk = parse_uuid(post_id, "No such post.")
    if not selectors.published_posts(viewer=user).filter(pk=pk).exists():
        raise NotFoundError("No such post.")
    return Post.objects.select_for_update().get(pk=pk)


def _acted_on(user: UserModel, post_id: UUID | str) -> Post:
    """The post a like, comment or share of `post_id` goes to, locked: a repost's original."""
    post = _visible_published(user, post_id)
    return _visible_published(user, post.shared_post_id) if post.is_repost else post


# --- Posts ---------------------------------------------------------------------------------------


def _takes_post_filter(item: Media, filter: str) -> bool:
    """The post's filter, when it gives one, replaces an image's own (the upload's) filter.

    An image still processing just gets the new filter: the worker reads it from the row when it
    runs (and remakes the variants should it change mid-run). An image processed before the
    unfiltered "source" variant existed can only be filtered from its "original" when that has
    no filter yet; one that has a filter already is left as it is (logged), since its pixels
    can't be un-filtered.
    """
    if not filter or item.kind != Media.Kind.IMAGE or item.filter == filter:
        return False
    if item.status == Media.Status.READY and item.filter and "source" not in (item.variants or {}):
        logger.warning("Media %s has no source variant; keeping its filter %r, not %r", item.pk, item.filter, filter)
        return False
    # A ready image needs something to make the new variants from.
    return item.status != Media.Status.READY or bool({"source", "original"} & set(item.variants or {}))


@transaction.atomic
def post_create(
    *,
    author: UserModel,
    content_type: str | None = None,
    content: str | None = "",
    media_ids: Iterable[UUID | str] | None = (),
    visibility: str = "public",
    filter: str = "",
    tagged_user_ids: Iterable[UUID | str] | None = (),
    spoiler_text: str | None = "",
) -> Post:
    """A new post; published at once, or pending until its media are ready. Without a content_type
    it is a text post, or an image or video post when it has media. `spoiler_text`: a content
    warning that hides the text and media until the reader opens them."""
    if content_type is not None and content_type not in Post.ContentType.values:
        raise ServiceError("Unknown content type.", fields={"content_type": ["Not a valid choice."]})
    if visibility not in Post.Visibility.values:
        raise ServiceError("Unknown visibility.", fields={"visibility": ["Not a valid choice."]})
    if filter and filter not in FILTERS:
        raise ServiceError("Unknown filter.", fields={"filter": [f"One of: {', '.join(FILTERS)}."]})
    content = _check_content(content, limit=text.POST_MAX_CHARS)
    spoiler_text = _check_spoiler(spoiler_text)
    media = _load_media(author, media_ids)
    if content_type is None:
        content_type = _content_type_of(media)
    if content_type in (Post.ContentType.TEXT, Post.ContentType.LINK) and not content.strip():
        raise ServiceError("Write something first.", fields={"content": ["This field may not be blank."]})
    link_url = ""
    if content_type == Post.ContentType.LINK:
        link_url = text.first_url(content)
        if not link_url or len(link_url) > 2000:
            raise ServiceError("A link post needs a web address.", fields={"content": ["No http(s) link found."]})
    _check_media(content_type, media)
    tagged = _tagged_users(author, tagged_user_ids)
    mentioned = _mentioned_users(author, content)

    new_filter = [item.pk for item in media if _takes_post_filter(item, filter)]
    all_ready = not new_filter and all(item.status == Media.Status.READY for item in media)
    post = Post.objects.create(
        author=author,
        content_type=content_type,
        content=content,
        content_html=text.render(content, mentioned),
        spoiler_text=spoiler_text,
        visibility=visibility,
        status=Post.Status.PUBLISHED if all_ready else Post.Status.PENDING_MEDIA,
        published_at=timezone.now() if all_ready else None,
        filter=filter,
        link_url=link_url,
    )
    for position, item in enumerate(media):
        item.post = post
        item.position = position
        fields = ["post", "position"]
        if item.pk in new_filter:
            item.filter = filter
            fields.append("filter")
            if item.status == Media.Status.READY:  # processed already: back to processing, remade after commit
                item.status = Media.Status.PROCESSING
                item.queued_at = timezone.now()
                fields += ["status", "queued_at"]
                outbox.enqueue(media_tasks.refilter_media, str(item.pk), filter)
        item.save(update_fields=fields)
    photo_tags = [PostTag(post=post, user=user, kind=PostTag.Kind.PHOTO) for user in tagged]
    if photo_tags:
        PostTag.objects.bulk_create(photo_tags)
    mention_tags = _sync_mentions(post, mentioned, photo_tagged=tagged)
    hashtags = _sync_hashtags(post, new=True)
    with outbox.batch():  # the receivers' tasks: one insert
        if link_url:
            outbox.enqueue(tasks.fetch_link_preview, str(post.pk))
        if post.status == Post.Status.PUBLISHED:
            post_published.send(sender=Post, post=post)
    transaction.on_commit(metrics.POSTS_CREATED.inc)
    # The answer's payload is what was just written: the post carries it, nothing is read back.
    selectors.prefill(post, hashtags=hashtags, tags=[*photo_tags, *mention_tags], media=media)
    return post


@transaction.atomic
def post_media_settled(*, post_id: UUID | str) -> Post | None:
    """The media worker reports that one of the post's media is ready or failed. Idempotent."""
    try:
        post = Post.objects.select_for_update().get(pk=parse_uuid(post_id, "No such post."), deleted_at__isnull=True)
    except (Post.DoesNotExist, NotFoundError):
        return None
    statuses = set(post.media.values_list("status", flat=True))
    if Media.Status.FAILED in statuses:
        new_status = Post.Status.FAILED
    elif statuses <= {Media.Status.READY}:
        new_status = Post.Status.PUBLISHED
    else:
        return post
    if post.status != new_status:
        post.status = new_status
        fields = ["status", "updated_at"]
        if new_status == Post.Status.PUBLISHED and post.published_at is None:
            post.published_at = timezone.now()
            fields.append("published_at")
        post.save(update_fields=fields)
        if new_status == Post.Status.PUBLISHED:
            post_published.send(sender=Post, post=post)
        else:
            post_failed.send(sender=Post, post=post)
    return post


def posts_settle_stuck(*, limit: int = 500) -> int:
    """Posts still waiting for media that all settled a minute ago (the settle task was lost):
    published or failed now. Returns how many changed."""
    quiet_since = timezone.now() - timedelta(seconds=60)
    processing = Media.objects.filter(post=OuterRef("pk"), status=Media.Status.PROCESSING)
    stuck = (
        Post.objects.filter(status=Post.Status.PENDING_MEDIA, deleted_at__isnull=True, updated_at__lt=quiet_since)
        .exclude(Exists(processing))
        .values_list("pk", flat=True)[:limit]
    )
    settled = 0
    for post_id in stuck:
        post = post_media_settled(post_id=post_id)
        if post is not None and post.status != Post.Status.PENDING_MEDIA:
            logger.warning("Post %s was left pending its media; now %s", post_id, post.status)
            settled += 1
    return settled


class _Unset(enum.Enum):
    UNSET = enum.auto()


_UNSET: Final = _Unset.UNSET  # "not given", where None is a value


@transaction.atomic
def post_update(
    *,
    post: Post,
    editor: UserModel,
    content: str | None | Literal[_Unset.UNSET] = _UNSET,
    visibility: str | Literal[_Unset.UNSET] = _UNSET,
    spoiler_text: str | None | Literal[_Unset.UNSET] = _UNSET,
) -> Post:
    """The author edits the text, the content warning or the audience; hashtags and mentions
    follow the text. What isn't given stays as it was."""
    post = _get_for_update(post.pk)
    if post.deleted_at is not None:
        raise NotFoundError("No such post.")
    if post.author_id != editor.pk:
        raise ForbiddenError("Only the author can edit this post.", code="not_owner")
    if visibility is not _UNSET:
        if visibility not in Post.Visibility.values:
            raise ServiceError("Unknown visibility.", fields={"visibility": ["Not a valid choice."]})
        post.visibility = visibility
    if spoiler_text is not _UNSET:
        post.spoiler_text = _check_spoiler(spoiler_text)
    if content is not _UNSET:
        content = _check_content(content, limit=text.POST_MAX_CHARS)
        needs_text = post.content_type in (Post.ContentType.TEXT, Post.ContentType.LINK) and not post.shared_post_id
        if needs_text and not content.strip():
            raise ServiceError("Write something first.", fields={"content": ["This field may not be blank."]})
        if post.content_type == Post.ContentType.LINK:
            post.link_url = text.first_url(content)
            if not post.link_url:
                raise ServiceError("A link post needs a web address.", fields={"content": ["No http(s) link found."]})
            outbox.enqueue(tasks.fetch_link_preview, str(post.pk))  # a no-op if the link is unchanged
        mentioned = _mentioned_users(editor, content)
        post.content = content
        post.content_html = text.render(content, mentioned)
        _sync_mentions(post, mentioned)
    post.edited = True
    post.save()
    if content is not _UNSET:
        _sync_hashtags(post)
    post_edited.send(sender=Post, post=post)
    return post


@transaction.atomic
def post_delete(*, post: Post, actor: UserModel) -> Post:
    """The author removes a post (soft delete); a share gives its count back."""
    post = _get_for_update(post.pk)
    if post.deleted_at is not None:
        return post
    if post.author_id != actor.pk:
        raise ForbiddenError("Only the author can delete this post.", code="not_owner")
    post.deleted_at = timezone.now()
    post.save(update_fields=["deleted_at", "updated_at"])
    move_share_counter(post, -1)
    post_withdrawn.send(sender=Post, post=post)
    return post


# --- Likes -----------------------------------------------------------------------------------------


@transaction.atomic
def like_create(*, user: UserModel, post_id: UUID | str) -> tuple[Like, bool]:
    """Like a post the user can see (a repost: its original). Idempotent; returns (like, created)."""
    post = _acted_on(user, post_id)
    try:
        with transaction.atomic():
            like, created = Like.objects.get_or_create(user=user, post=post)
    except IntegrityError:  # a concurrent like won the race
        return Like.objects.get(user=user, post=post), False
    if created:
        Post.objects.filter(pk=post.pk).update(likes_count=F("likes_count") + 1)
        post_liked.send(sender=Post, user_id=user.pk, post_id=post.pk)
        transaction.on_commit(metrics.LIKES_CREATED.inc)
    return like, created


@transaction.atomic
def like_delete(*, user: UserModel, post_id: UUID | str) -> bool:
    """Unlike (a repost: its original). Idempotent; returns whether a like was removed."""
    post = _acted_on(user, post_id)
    deleted, _ = Like.objects.filter(user=user, post=post).delete()
    if deleted:
        Post.objects.filter(pk=post.pk, likes_count__gt=0).update(likes_count=F("likes_count") - 1)
        post_unliked.send(sender=Post, user_id=user.pk, post_id=post.pk)
    return bool(deleted)


# --- Bookmarks ---------------------------------------------------------------------------------------


@transaction.atomic
def bookmark_add(*, user: UserModel, post_id: UUID | str) -> tuple[Bookmark, bool]:
    """Bookmark a post the user can see (a repost: its original, as a like). Private, so nobody
    is told. Idempotent; returns (bookmark, created)."""
    post = _acted_on(user, post_id)
    try:
        with transaction.atomic():
            return Bookmark.objects.get_or_create(user=user, post=post)
    except IntegrityError:  # a concurrent bookmark of the same post won the race
        return Bookmark.objects.get(user=user, post=post), False


@transaction.atomic
def bookmark_remove(*, user: UserModel, post_id: UUID | str) -> bool:
    """Remove a bookmark. Idempotent; returns whether one was removed. A post the user can no
    longer see (deleted, its author blocked them) can still be let go of."""
    pk = parse_uuid(post_id, "No such post.")
    deleted, _ = Bookmark.objects.filter(user=user, post_id=pk).delete()
    if deleted:
        return True
    post = _acted_on(user, pk)  # NotFoundError for a post the user can't see
    deleted, _ = Bookmark.objects.filter(user=user, post=post).delete()
    return bool(deleted)


# --- Pins ------------------------------------------------------------------------------------------


@transaction.atomic
def post_pin(*, user: UserModel, post_id: UUID | str) -> bool:
    """Pin one of the user's own published posts to the top of their profile, at most PINS_MAX.
    Idempotent; returns whether it was newly pinned. Another's post: ForbiddenError; a fourth
    pin: ConflictError (unpin one first)."""
    pk = parse_uuid(post_id, "No such post.")
    # The author's row, locked: concurrent pins by one person count one after the other.
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    post = _visible_published(user, pk)
    if post.author_id != user.pk:
        raise ForbiddenError("You can only pin your own posts.", code="not_owner")
    if post.pinned_at is not None:
        return False
    pinned = selectors.pinned_posts(user=user).count()
    if pinned >= PINS_MAX:
        raise ConflictError(f"You can pin at most {PINS_MAX} posts. Unpin one first.", code="pin_limit_reached")
    post.pinned_at = timezone.now()
    post.save(update_fields=["pinned_at", "updated_at"])  # updated_at: a new payload and card (cached by it)
    return True


@transaction.atomic
def post_unpin(*, user: UserModel, post_id: UUID | str) -> bool:
    """Unpin one of the user's own posts. Idempotent; returns whether it was pinned."""
    pk = parse_uuid(post_id, "No such post.")
    post = _visible_published(user, pk)
    if post.author_id != user.pk:
        raise ForbiddenError("You can only unpin your own posts.", code="not_owner")
    unpinned = Post.objects.filter(pk=post.pk, pinned_at__isnull=False).update(
        pinned_at=None, updated_at=timezone.now()
    )
    return bool(unpinned)


# --- Comments -------------------------------------------------------------------------------------


@transaction.atomic
def comment_create(
    *, author: UserModel, post_id: UUID | str, content: str | None, parent_comment_id: UUID | str | None = None
) -> Comment:
    """Comment on a post the author can see (a repost: its original), or reply to one of its comments."""
    post = _acted_on(author, post_id)
    content = _check_content(content, limit=text.COMMENT_MAX_CHARS)
    if not content.strip():
        raise ServiceError("Write something first.", fields={"content": ["This field may not be blank."]})
    parent = None
    if parent_comment_id:
        pk = parse_uuid(parent_comment_id, "No such comment to reply to.")
        parent = Comment.objects.visible_to(author).select_for_update(of=("self",)).filter(pk=pk).first()
        if parent is None:
            raise NotFoundError("No such comment to reply to.", fields={"parent_comment_id": ["Unknown comment."]})
        if parent.post_id != post.pk:
            raise ServiceError(
                "That comment belongs to another post.",
                code="parent_mismatch",
                fields={"parent_comment_id": ["Belongs to another post."]},
            )
    mentioned = _mentioned_users(author, content, enforce_blocks=False)
    comment = Comment.objects.create(
        post=post, author=author, parent=parent, content=content, content_html=text.render(content, mentioned)
    )
    move_comment_counters(comment, +1)
    comment_posted.send(sender=Comment, comment=comment, mentioned_ids=[user.pk for user in mentioned.values()])
    return comment


def _comment_for_update(comment_id: UUID | str) -> Comment:
    pk = parse_uuid(comment_id, "No such comment.")
    try:
        return Comment.objects.select_for_update(of=("self",)).select_related("post").get(pk=pk)
    except Comment.DoesNotExist:
        raise NotFoundError("No such comment.")


@transaction.atomic
def comment_update(*, comment: Comment, editor: UserModel, content: str | None = None) -> Comment:
    """Change one's own comment's text; without `content` (a PATCH of nothing) it stays as it is."""
    comment = _comment_for_update(comment.pk)
    if comment.deleted_at is not None:
        raise NotFoundError("No such comment.")
    if comment.author_id != editor.pk:
        raise ForbiddenError("Only the author can edit this comment.", code="not_owner")
    if content is None:
        return comment
    content = _check_content(content, limit=text.COMMENT_MAX_CHARS)
    if not content.strip():
        raise ServiceError("Write something first.", fields={"content": ["This field may not be blank."]})
    comment.content = content
    comment.content_html = text.render(content, _mentioned_users(editor, content, enforce_blocks=False))
    comment.edited = True
    comment.save(update_fields=["content", "content_html", "edited", "updated_at"])
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, actor: UserModel) -> Comment:
    """The comment's author or the post's author removes a comment (soft delete)."""
    comment = _comment_for_update(comment.pk)
    if comment.deleted_at is not None:
        return comment
    if actor.pk not in (comment.author_id, comment.post.author_id):
        raise ForbiddenError("You can't delete this comment.", code="not_owner")
    comment.deleted_at = timezone.now()
    comment.save(update_fields=["deleted_at", "updated_at"])
    move_comment_counters(comment, -1)
    return comment


# --- Shares ---------------------------------------------------------------------------------------


@transaction.atomic
def share_create(*, user: UserModel, post_id: UUID | str, content: str | None = "") -> tuple[Post, bool]:
    """Repost (no text) or quote (with text) a public post. Returns (post, created)."""
    original = _acted_on(user, post_id)  # reposting a repost shares what it reposted
    if original.visibility != Post.Visibility.PUBLIC or original.author.profile.is_private:
        raise ForbiddenError("Only public posts can be shared.", code="not_shareable")
    content = _check_content(content, limit=text.POST_MAX_CHARS)
    if not content.strip():
        existing = Post.objects.filter(author=user, shared_post=original, content="", deleted_at__isnull=True).first()
        if existing is not None:
            return existing, False
        content = ""
    mentioned = _mentioned_users(user, content)
    share = Post.objects.create(
        author=user,
        content_type=Post.ContentType.TEXT,
        content=content,
        content_html=text.render(content, mentioned),
        visibility=Post.Visibility.PUBLIC,
        shared_post=original,
        published_at=timezone.now(),
    )
    _sync_mentions(share, mentioned, photo_tagged=[])
    _sync_hashtags(share, new=True)
    move_share_counter(share, +1)
    post_published.send(sender=Post, post=share)
    return share, True


# --- Counters (shared with posts.moderation) ---------------------------------------------------------


def _count(rows: QuerySet[Any], column: str) -> Coalesce:
    """COUNT(*) of `rows` per OuterRef row (rows filtered by `column`=OuterRef("pk")), 0 when none."""
    counted = rows.filter(**{column: OuterRef("pk")}).order_by().values(column).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), 0)


def account_deleted(*, user_id: UUID) -> None:
    """No counter keeps a deleted account's likes, comments or shares, and its likes go (in the
    deactivation's transaction, posts.receivers)."""
    counters_recount_for(user_id=user_id)  # first: it finds the posts through the likes
    Like.objects.filter(user_id=user_id).delete()


def counters_recount_for(*, user_id: UUID) -> None:
    """Count again every counter the user's likes, comments and shares are in, from the rows others
    see (active authors, nothing deleted or hidden): after the account is deactivated, suspended
    or unsuspended. Runs in the caller's transaction."""
    posts = set(Like.objects.filter(user_id=user_id).values_list("post_id", flat=True))
    posts |= set(Comment.objects.filter(author_id=user_id).values_list("post_id", flat=True))
    posts |= set(
        Post.objects.filter(author_id=user_id, shared_post__isnull=False).values_list("shared_post_id", flat=True)
    )
    parents = set(Comment.objects.filter(author_id=user_id, parent__isnull=False).values_list("parent_id", flat=True))
    shown = Comment.objects.filter(deleted_at__isnull=True, hidden_at__isnull=True, author__is_active=True)
    shares = Post.objects.filter(deleted_at__isnull=True, hidden_at__isnull=True, author__is_active=True)
    Post.objects.filter(pk__in=posts).update(
        likes_count=_count(Like.objects.filter(user__is_active=True), "post"),
        comments_count=_count(shown, "post"),
        shares_count=_count(shares, "shared_post"),
    )
    Comment.objects.filter(pk__in=parents).update(replies_count=_count(shown, "parent"))


def move_comment_counters(comment: Comment, delta: int) -> None:
    """Move the post's comments_count, and the parent's replies_count, by ±1; never below zero."""
    post_counts = Post.objects.filter(pk=comment.post_id)
    replies = Comment.objects.filter(pk=comment.parent_id) if comment.parent_id else Comment.objects.none()
    if delta > 0:
        post_counts.update(comments_count=F("comments_count") + 1)
        replies.update(replies_count=F("replies_count") + 1)
    else:
        post_counts.filter(comments_count__gt=0).update(comments_count=F("comments_count") - 1)
        replies.filter(replies_count__gt=0).update(replies_count=F("replies_count") - 1)


def move_share_counter(post: Post, delta: int) -> None:
    """Move the shares_count of the post that `post` shares by ±1; never below zero."""
    if not post.shared_post_id:
        return
    original = Post.objects.filter(pk=post.shared_post_id)
    if delta > 0:
        original.update(shares_count=F("shares_count") + 1)
    else:
        original.filter(shares_count__gt=0).update(shares_count=F("shares_count") - 1)

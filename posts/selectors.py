"""Reads for posts. `Post.objects.visible_to(viewer)` decides which posts can be seen.

Lists show published posts only; the author sees their own pending or failed post through
`post_get`. Every queryset here loads what the API payload needs in a bounded number of
queries, whatever the page size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from django.db.models import BooleanField, Exists, OuterRef, Prefetch, QuerySet, Value

from media.models import Media
from posts.models import Comment, Like, Post, PostTag
from posts.text import normalize_hashtag
from socialsite.errors import NotFoundError
from socialsite.params import parse_uuid

if TYPE_CHECKING:
    from uuid import UUID

    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

    Viewer = User | AnonymousUser | None


def liked_by(viewer: Viewer) -> Value | Exists:
    if viewer is None or not viewer.is_authenticated:
        return Value(False, output_field=BooleanField())
    return Exists(Like.objects.filter(post=OuterRef("pk"), user=viewer))


def _tags() -> Prefetch[str]:
    return Prefetch(
        "tags",
        queryset=PostTag.objects.filter(user__is_active=True).select_related("user__profile").order_by("id"),
    )


def _media() -> Prefetch[str]:
    return Prefetch("media", queryset=Media.objects.order_by("position", "created_at"))


def payload_queryset(queryset: QuerySet[Post]) -> QuerySet[Post]:
    """What a post's own payload shows, without the viewer's bits: author, hashtags, tags, media."""
    return queryset.select_related("author__profile").prefetch_related("hashtags", _tags(), _media())


def with_payload(queryset: QuerySet[Post], viewer: Viewer) -> QuerySet[Post]:
    """What a post payload shows: author, hashtags, tags, media, the shared post, liked_by_me."""
    shared = (
        Post.objects.visible_to(viewer)
        .filter(status=Post.Status.PUBLISHED)
        .select_related("author__profile")
        .prefetch_related("hashtags", _tags(), _media())
        .annotate(liked_by_me=liked_by(viewer))  # a repost shows the original's buttons
    )
    return (
        queryset.select_related("author__profile")
        .prefetch_related("hashtags", _tags(), _media(), Prefetch("shared_post", queryset=shared))
        .annotate(liked_by_me=liked_by(viewer))
    )


# A post as a payload row has it (posts.payloads): the cache key's stamps and what is never cached.
PAYLOAD_ROW_FIELDS = (
    "id",
    "status",
    "shared_post_id",
    "updated_at",
    "author__profile__updated_at",
    "likes_count",
    "comments_count",
    "shares_count",
    "liked_by_me",
)


def payload_rows(*, viewer: Viewer, ids: Iterable[object], published: bool = True) -> dict[str, dict[str, Any]]:
    """{id: values row} of the posts in `ids` the viewer may see (published ones only, unless
    `published` is False: the author's pending or failed post too), with fresh counters and
    liked_by_me: one query."""
    posts = visible_posts(viewer=viewer).filter(pk__in=list(ids))
    if published:
        posts = posts.filter(status=Post.Status.PUBLISHED)
    rows = posts.annotate(liked_by_me=liked_by(viewer)).values(*PAYLOAD_ROW_FIELDS)
    return {str(row["id"]): row for row in rows}


def prefill(post: Post, **related: Sequence[Any]) -> None:
    """Give `post` its related rows as a prefetch would (`post.tags.all()` then reads none): for a
    post just written, whose rows are at hand. Each list must be what `payload_queryset` would load
    (tags with user and profile, in creation order; media by position)."""
    cache = post.__dict__.setdefault("_prefetched_objects_cache", {})
    for name, items in related.items():
        rows = getattr(post, name).all()  # a queryset; nothing runs until iterated
        rows._result_cache = list(items)
        rows._prefetch_done = True
        cache[name] = rows


def visible_posts(*, viewer: Viewer) -> QuerySet[Post]:
    posts: QuerySet[Post] = Post.objects.visible_to(viewer)
    return posts


def published_posts(*, viewer: Viewer) -> QuerySet[Post]:
    return visible_posts(viewer=viewer).filter(status=Post.Status.PUBLISHED)


def post_get(*, viewer: Viewer, post_id: object) -> Post:
    """A post the viewer may see (the author also sees it pending or failed), or NotFoundError."""
    pk = parse_uuid(post_id, "No such post.")
    try:
        return with_payload(visible_posts(viewer=viewer), viewer).get(pk=pk)
    except Post.DoesNotExist:
        raise NotFoundError("No such post.")


def post_get_bare(*, viewer: Viewer, post_id: object) -> Post:
    """Like post_get, without what the payload needs: for paths that only check the post."""
    try:
        return visible_posts(viewer=viewer).get(pk=parse_uuid(post_id, "No such post."))
    except Post.DoesNotExist:
        raise NotFoundError("No such post.")


def acted_on(*, viewer: Viewer, post_id: object) -> Post:
    """What a like, a comment or a share of the post acts on: the original of a repost (as on X
    and Mastodon), else the post. NotFoundError when the viewer can't see either."""
    post = post_get_bare(viewer=viewer, post_id=post_id)
    return post_get_bare(viewer=viewer, post_id=post.shared_post_id) if post.is_repost else post


def user_posts_queryset(*, viewer: Viewer, user: User) -> QuerySet[Post]:
    """The user's published posts the viewer may see, newest first."""
    return with_payload(published_posts(viewer=viewer).filter(author=user), viewer).order_by("-created_at")


def hashtag_posts_queryset(*, viewer: Viewer, name: str | None) -> QuerySet[Post]:
    """Published posts tagged with `name` (any case or width), newest first."""
    queryset = published_posts(viewer=viewer).filter(hashtags__name=normalize_hashtag(name or ""))
    return with_payload(queryset, viewer).order_by("-created_at")


def comments_queryset(*, viewer: Viewer, post: Post, parent_id: object = None) -> QuerySet[Comment]:
    """Top-level comments of a post, or the direct replies to `parent_id` (a comment the viewer
    may see, else NotFoundError), oldest first."""
    queryset: QuerySet[Comment] = Comment.objects.visible_to(viewer).filter(post=post)
    if parent_id is None:
        queryset = queryset.filter(parent__isnull=True)
    else:
        parent = comment_get(viewer=viewer, post=post, comment_id=parent_id)
        queryset = queryset.filter(parent=parent)
    return queryset.select_related("author__profile").order_by("created_at")


def comment_get(*, viewer: Viewer, post: Post, comment_id: object) -> Comment:
    try:
        comment: Comment = (
            Comment.objects.visible_to(viewer)
            .select_related("author__profile")
            .get(post=post, pk=parse_uuid(comment_id, "No such comment."))
        )
        return comment
    except Comment.DoesNotExist:
        raise NotFoundError("No such comment.")


def comment_thread(*, viewer: Viewer, post: Post, roots: Iterable[Comment], depth: int) -> Iterable[Comment]:
    """Attach `children` to each comment, `depth` levels deep, in one query per level."""
    level = list(roots)
    for comment in level:
        comment.depth = 1
    for current in range(1, depth + 1):
        for comment in level:
            comment.children = []
            comment.continue_thread = current == depth and comment.replies_count > 0
        if current == depth or not level:
            break
        by_id = {comment.pk: comment for comment in level}
        children = list(
            Comment.objects.visible_to(viewer)
            .filter(post=post, parent_id__in=list(by_id))
            .select_related("author__profile")
            .order_by("created_at")
        )
        for child in children:
            child.depth = current + 1
            by_id[cast("UUID", child.parent_id)].children.append(child)  # a reply: filtered by parent_id above
        level = children
    return roots

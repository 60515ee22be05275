"""Reads for posts. `Post.objects.visible_to(viewer)` decides which posts can be seen.

Lists show published posts only; the author sees their own pending or failed post through
`post_get`. Every queryset here loads what the API payload needs in a bounded number of
queries, whatever the page size.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections, router
from django.db.models import BooleanField, Exists, F, OuterRef, Prefetch, QuerySet, Value
from django.utils import timezone

from media.models import Media
from posts.models import Bookmark, Comment, Like, Post, PostTag
from posts.text import normalize_hashtag
from socialsite.errors import NotFoundError
from socialsite.params import parse_uuid

if TYPE_CHECKING:
    from uuid import UUID

    from django.contrib.auth.models import AnonymousUser
    from django.db.backends.base.base import BaseDatabaseWrapper

    from accounts.models import User

    Viewer = User | AnonymousUser | None


def liked_by(viewer: Viewer) -> Value | Exists:
    if viewer is None or not viewer.is_authenticated:
        return Value(False, output_field=BooleanField())
    return Exists(Like.objects.filter(post=OuterRef("pk"), user=viewer))


def bookmarked_by(viewer: Viewer) -> Value | Exists:
    if viewer is None or not viewer.is_authenticated:
        return Value(False, output_field=BooleanField())
    return Exists(Bookmark.objects.filter(post=OuterRef("pk"), user=viewer))


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
    """What a post payload shows: author, hashtags, tags, media, the shared post, liked_by_me,
    bookmarked."""
    shared = (
        Post.objects.visible_to(viewer)
        .filter(status=Post.Status.PUBLISHED)
        .select_related("author__profile")
        .prefetch_related("hashtags", _tags(), _media())
        # A repost shows the original's buttons.
        .annotate(liked_by_me=liked_by(viewer), bookmarked=bookmarked_by(viewer))
    )
    return (
        queryset.select_related("author__profile")
        .prefetch_related("hashtags", _tags(), _media(), Prefetch("shared_post", queryset=shared))
        .annotate(liked_by_me=liked_by(viewer), bookmarked=bookmarked_by(viewer))
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
    "bookmarked",
)


def payload_rows(*, viewer: Viewer, ids: Iterable[object], published: bool = True) -> dict[str, dict[str, Any]]:
    """{id: values row} of the posts in `ids` the viewer may see (published ones only, unless
    `published` is False: the author's pending or failed post too), with fresh counters and
    liked_by_me and bookmarked: one query."""
    posts = visible_posts(viewer=viewer).filter(pk__in=list(ids))
    if published:
        posts = posts.filter(status=Post.Status.PUBLISHED)
    rows = posts.annotate(liked_by_me=liked_by(viewer), bookmarked=bookmarked_by(viewer)).values(*PAYLOAD_ROW_FIELDS)
    return {str(row["id"]): row for row in rows}


def payload_row(*, viewer: Viewer, pk: UUID, published: bool = True) -> dict[str, Any] | None:
    """payload_rows for one post (GET /posts/{id}): the same query, compiled once per process and
    shape (signed in or not, published only or not) and run with this viewer's and post's ids.
    Compiling it was half the CPU of a post detail read (about 1.1 of 2 ms, bench data)."""
    alias = router.db_for_read(Post)
    viewer_id = viewer.pk if viewer is not None and viewer.is_authenticated else None
    template = _row_template(alias, viewer_id is not None, published)
    params = list(template.params)
    for at in template.viewer_at:
        params[at] = _like(params[at], viewer_id)
    params[template.post_at] = _like(params[template.post_at], pk)
    connection = connections[alias]
    with _cursor(connection) as cursor:
        if connection.vendor == "postgresql" and settings.DB_PREPARED_STATEMENTS:
            # Prepared at its first run on each connection, and only it: psycopg prepares what a
            # server-binding cursor runs while the connection's threshold allows (Django keeps
            # it at None, off, so other server-binding cursors stay unprepared).
            raw = connection.connection
            threshold, raw.prepare_threshold = raw.prepare_threshold, 0
            try:
                cursor.execute(template.sql, params)
            finally:
                raw.prepare_threshold = threshold
        else:
            cursor.execute(template.sql, params)
        found = cursor.fetchone()
    if connection.queries_logged and connection.vendor == "postgresql":
        # Django's query log (DEBUG, tests) reads the text from client-binding cursors only.
        operations: Any = connection.ops  # PostgreSQL's compose_sql: not in the stubs
        connection.queries_log[-1]["sql"] = operations.compose_sql(template.sql, params)
    if found is None:
        return None
    values = list(found)
    for at, (converters, expression) in template.converters:
        for convert in converters:
            values[at] = convert(values[at], expression, connection)
    return dict(zip(template.names, values, strict=True))


def _cursor(connection: BaseDatabaseWrapper) -> Any:
    """Django's cursor (query logging, wrappers), binding parameters on the server on PostgreSQL:
    psycopg can prepare only those. Django's own cursors bind in the client."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql import base

    connection.ensure_connection()
    # As Django makes its cursors (BaseDatabaseWrapper._cursor), with the class it uses when
    # OPTIONS server_side_binding is on; neither is in the type stubs.
    server_binding: Any = base.ServerBindingCursor
    wrapper: Any = connection
    return wrapper._prepare_cursor(server_binding(connection.connection))


class _RowTemplate(NamedTuple):
    sql: str
    params: tuple[Any, ...]
    viewer_at: tuple[int, ...]  # where the viewer's id goes in params
    post_at: int  # where the post's id goes
    names: tuple[str, ...]
    converters: tuple[tuple[int, tuple[Any, Any]], ...]  # (column, (converters, expression)), as Django applies them


# Stand-ins for the ids while compiling: found again in the compiled params by value.
_VIEWER_STAND_IN = uuid.UUID("00000000-0000-4000-8000-00000000f1e1")
_POST_STAND_IN = uuid.UUID("00000000-0000-4000-8000-00000000b057")


def _positions(params: Sequence[Any], stand_in: uuid.UUID) -> tuple[int, ...]:
    # A UUID on PostgreSQL, its hex on SQLite: whichever form the backend binds.
    return tuple(at for at, value in enumerate(params) if str(value).replace("-", "") == stand_in.hex)


def _like(bound: Any, value: UUID | None) -> Any:
    """`value` in the form the backend bound the stand-in in (a UUID, or its hex)."""
    return value if isinstance(bound, uuid.UUID) else cast("uuid.UUID", value).hex


@functools.lru_cache(maxsize=8)
def _row_template(alias: str, signed_in: bool, published: bool) -> _RowTemplate:
    viewer: Viewer = None
    if signed_in:
        viewer = get_user_model()(pk=_VIEWER_STAND_IN)
        viewer._state.adding = False  # a saved user, as far as the related lookups go
    posts = visible_posts(viewer=viewer).filter(pk=_POST_STAND_IN)
    if published:
        posts = posts.filter(status=Post.Status.PUBLISHED)
    annotated = posts.annotate(liked_by_me=liked_by(viewer), bookmarked=bookmarked_by(viewer))
    query = annotated.values(*PAYLOAD_ROW_FIELDS).query
    compiler = query.get_compiler(alias)
    sql, params = compiler.as_sql()
    viewer_at = _positions(params, _VIEWER_STAND_IN)
    post_at = _positions(params, _POST_STAND_IN)
    if len(post_at) != 1 or bool(viewer_at) != signed_in:
        raise AssertionError(f"payload_row: the compiled query binds its ids unexpectedly: {sql}")
    names = (*query.extra_select, *query.values_select, *query.annotation_select)
    columns = [column[0] for column in compiler.select[: compiler.col_count]]
    converters = tuple(compiler.get_converters(columns).items())
    return _RowTemplate(sql, tuple(params), viewer_at, post_at[0], names, converters)


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


def user_posts_queryset(*, viewer: Viewer, user: User, unpinned: bool = False) -> QuerySet[Post]:
    """The user's published posts the viewer may see, newest first; `unpinned`: without the
    pinned ones (profile_pinned shows those first)."""
    queryset = published_posts(viewer=viewer).filter(author=user)
    if unpinned:
        queryset = queryset.filter(pinned_at__isnull=True)
    return with_payload(queryset, viewer).order_by("-created_at")


def pinned_posts(*, user: User) -> QuerySet[Post]:
    """The user's pinned posts that still show (not deleted, not hidden), last pinned first."""
    return Post.objects.filter(
        author=user, pinned_at__isnull=False, deleted_at__isnull=True, hidden_at__isnull=True
    ).order_by("-pinned_at")


def profile_pinned(*, viewer: Viewer, user: User) -> list[Post]:
    """The pinned posts of `user` the viewer may see, with their payload, last pinned first:
    at most services.PINS_MAX, shown above the others on the profile (user_posts_queryset
    with `unpinned` leaves them out)."""
    queryset = published_posts(viewer=viewer).filter(author=user, pinned_at__isnull=False)
    return list(with_payload(queryset, viewer).order_by("-pinned_at"))


def bookmarks_queryset(*, user: User) -> QuerySet[Post]:
    """The posts the user bookmarked that they may still see (a deleted post, one whose author
    blocked them, a private account they no longer follow drop out), with `bookmarked_at`,
    last bookmarked first."""
    posts = published_posts(viewer=user).filter(bookmarks__user=user)
    # The bookmark joined by the filter (unique per user and post): its time, for the order.
    posts = posts.annotate(bookmarked_at=F("bookmarks__created_at"))
    return with_payload(posts, user).order_by(F("bookmarked_at").desc(), "-id")


def hashtag_posts_queryset(*, viewer: Viewer, name: str | None) -> QuerySet[Post]:
    """Published posts tagged with `name` (any case or width), newest first."""
    queryset = published_posts(viewer=viewer).filter(hashtags__name=normalize_hashtag(name or ""))
    return with_payload(queryset, viewer).order_by("-created_at")


def popular_posts_queryset(*, viewer: Viewer, now: datetime | None = None) -> QuerySet[Post]:
    """The most engaged public posts published in the last EXPLORE_POSTS_DAYS that the viewer may
    see (Explore, and the home page while its feed is empty): engagement = likes + 2 × comments
    + 3 × shares, then newest first. Bare reposts (their original counts instead), the viewer's own
    posts and the posts of accounts the viewer muted are left out."""
    since = (now or timezone.now()) - timedelta(days=settings.EXPLORE_POSTS_DAYS)
    posts = (
        published_posts(viewer=viewer)
        .filter(
            visibility=Post.Visibility.PUBLIC,
            author__profile__is_private=False,
            published_at__gte=since,
        )
        .exclude(shared_post__isnull=False, content="")
    )
    if viewer is not None and viewer.is_authenticated:
        from accounts.models import Mute

        posts = posts.exclude(author_id=viewer.pk).exclude(
            author__in=Mute.objects.filter(muter_id=viewer.pk).values("muted")
        )
    engagement = F("likes_count") + 2 * F("comments_count") + 3 * F("shares_count")
    ranked = posts.annotate(engagement=engagement).order_by(F("engagement").desc(), "-published_at", "-id")
    return with_payload(ranked, viewer)


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

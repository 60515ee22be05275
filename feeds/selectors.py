"""The home feed read: the viewer's pushed timeline merged with the celebrities they follow.

`home_feed` reads the home timeline and the author timeline of each celebrity followee in one
store round trip, k-way merges them newest first without duplicates, and lets
`Post.objects.visible_to(viewer)` plus the cached graph decide what stays: deleted, hidden,
blocked, muted and unfollowed authors' posts drop out at read time, whatever the timelines
still hold. A missing timeline is rebuilt from PostgreSQL on the way (a cache fill, not a
data write). Past the end of a full timeline, and whenever the store is down, the feed is
pulled from PostgreSQL instead, so it is never wrong, only slower.

Cursors are opaque strings "<score>.<post id>", score being published_at in microseconds.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from django.conf import settings
from django.db import connection, connections, router
from django.db.models import BooleanField, Count, Field, Model, Q, Value
from django.utils import timezone

from accounts.models import Profile, User
from feeds import graph, services
from feeds.store import Bound, Entry, Unavailable, author_key, get_store, home_key, home_ttl, moment_of, score_of
from posts.models import Bookmark, Comment, Like, Post, PostTag
from posts.selectors import bookmarked_by, liked_by
from socialsite import metrics, safe_cache
from socialsite.errors import NotFoundError, ServiceError
from socialsite.params import parse_uuid

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.http import HttpRequest

    from feeds.graph import Graph

logger = logging.getLogger(__name__)

# A post as the feed reads it: Post.values(*TIMELINE_FIELDS).
Row = dict[str, Any]

ORDERS = ("latest", "top")
MAX_ROUNDS = 4  # store reads per page before falling back to the database

# ?order=top: see docs/api.md for the formula.
TOP_CANDIDATES = 200
TOP_WINDOW = timedelta(days=3)
TOP_HALF_LIFE_HOURS = 24
TOP_AFFINITY_DAYS = 30
TOP_RANKING_TTL = 15 * 60
TOP_RANKINGS_KEPT = 2  # per user: a page open in another tab survives one refresh


@dataclass
class FeedPage:
    rows: list[Row]  # visible Post rows (values, TIMELINE_FIELDS) in order
    next_cursor: str | None
    newest_cursor: str | None
    source: str  # "store", "database" (fallback) or "mixed"


def cursor_of(entry: Entry) -> str:
    return f"{entry.score}.{entry.post_id}"


def parse_cursor(value: str | None, *, viewer: User, name: str = "cursor") -> Bound | None:
    """A cursor string, or a post id the viewer may see; None for empty. Else a 400."""
    if not value:
        return None
    score, _, post_id = value.partition(".")
    try:
        if post_id and score.isdigit():
            return (int(score), str(parse_uuid(post_id)))
        post = (
            Post.objects.visible_to(viewer)
            .filter(status=Post.Status.PUBLISHED)
            .only("id", "published_at")
            .get(pk=parse_uuid(value))
        )
        return (score_of(cast("datetime", post.published_at)), str(post.pk))  # published: it has the moment
    except (NotFoundError, Post.DoesNotExist):
        pass
    raise ServiceError("Not a valid cursor or post id.", code="invalid_cursor", fields={name: ["Invalid cursor."]})


# --- Candidates ----------------------------------------------------------------------------------


TIMELINE_FIELDS = (
    "id",
    "author_id",
    "visibility",
    "published_at",
    "updated_at",
    "shared_post_id",
    "likes_count",
    "comments_count",
    "shares_count",
    "liked_by_me",
    "bookmarked",
    "author__profile__updated_at",
)


def _keep(row: Row, viewer_id: str, user_graph: Graph) -> bool:
    author = str(row["author_id"])
    return author == viewer_id or (author in user_graph.followees and author not in user_graph.muted)


def _visible_rows(viewer: User, ids: Sequence[str]) -> dict[str, Row]:
    """{id: row} of the ids the viewer may see now (`visible_to`), with fresh counters, liked_by_me and bookmarked."""
    if not ids:
        return {}
    rows = (
        Post.objects.visible_to(viewer)
        .filter(pk__in=ids, status=Post.Status.PUBLISHED)
        .annotate(liked_by_me=liked_by(viewer), bookmarked=bookmarked_by(viewer))
        .values(*TIMELINE_FIELDS)
    )
    return {str(row["id"]): row for row in rows}


# The feed's visibility query (`_timeline_sql`): SQLite takes the ids as a JSON array.
_TIMELINE_SQL = (
    "SELECT {columns},"
    " EXISTS (SELECT 1 FROM {like} l WHERE l.{like_post} = p.{id} AND l.{like_user} = %(viewer)s),"
    " EXISTS (SELECT 1 FROM {bookmark} b WHERE b.{bookmark_post} = p.{id} AND b.{bookmark_user} = %(viewer)s),"
    " (SELECT pr.{profile_updated} FROM {profile} pr WHERE pr.{profile_user} = p.{author})"
    " FROM {post} p"
    " WHERE p.{id} {in_ids} AND p.{status} = %(published)s AND p.{deleted_at} IS NULL AND p.{hidden_at} IS NULL"
    " AND (SELECT u.{is_active} FROM {user} u WHERE u.{user_id} = p.{author})"
    " AND (p.{visibility} <> %(mentioned)s OR p.{author} = %(viewer)s"
    " OR EXISTS (SELECT 1 FROM {tag} t WHERE t.{tag_post} = p.{id} AND t.{tag_user} = %(viewer)s))"
)


@functools.cache
def _timeline_sql(vendor: str) -> tuple[str, tuple[tuple[str, list[Any]], ...]]:
    """The feed's visibility query for a list of ids, as SQL written once per process (columns
    in TIMELINE_FIELDS order), and the columns the backend converts, with the ORM's converters.

    Building the equivalent queryset took ~1 ms of ORM work on every page (40% of a feed
    request) for a query PostgreSQL runs in well under one; this text never changes, only its
    parameters: the viewer's id, the post ids (one array, so one statement whatever the page
    size), "published" and "mentioned". Scalar subqueries for the author (active) and their
    profile keep the plan to index probes per post, where joining accounts_user hashed the
    whole table. The "mentioned" rule is in the query too (it was a second one).
    """
    quote = connection.ops.quote_name
    post, profile = Post._meta, Profile._meta

    def column(model: type[Model], name: str) -> str:
        return quote(cast(str, cast("Field[Any, Any]", model._meta.get_field(name)).column))

    names = {
        "columns": ", ".join(f"p.{column(Post, name)}" for name in TIMELINE_FIELDS[:9]),
        "in_ids": "= ANY(%(ids)s)" if vendor == "postgresql" else "IN (SELECT value FROM json_each(%(ids)s))",
        **{name: column(Post, name) for name in ("id", "author", "status", "deleted_at", "hidden_at", "visibility")},
        **{
            name: quote(model._meta.db_table)
            for name, model in (("post", Post), ("like", Like), ("bookmark", Bookmark), ("tag", PostTag))
        },
        "like_post": column(Like, "post"),
        "bookmark_post": column(Bookmark, "post"),
        "bookmark_user": column(Bookmark, "user"),
        "like_user": column(Like, "user"),
        "tag_post": column(PostTag, "post"),
        "tag_user": column(PostTag, "user"),
        "profile": quote(profile.db_table),
        "profile_user": column(Profile, "user"),
        "profile_updated": column(Profile, "updated_at"),
        "user": quote(User._meta.db_table),
        "user_id": column(User, "id"),
        "is_active": column(User, "is_active"),
    }
    sql = _TIMELINE_SQL.format(**names)  # noqa: S608 -- names from the models; values are parameters
    fields = [cast("Field[Any, Any]", post.get_field(name)) for name in TIMELINE_FIELDS[:9]]
    expressions: list[Any] = [field.get_col("p") for field in fields]
    expressions += [
        Value(None, output_field=BooleanField()),
        Value(None, output_field=BooleanField()),
        cast("Field[Any, Any]", profile.get_field("updated_at")).get_col("pr"),
    ]
    converters = [
        (name, [*connection.ops.get_db_converters(expression), *expression.get_db_converters(connection)])
        for name, expression in zip(TIMELINE_FIELDS, expressions, strict=True)
    ]
    return sql, tuple((name, found) for name, found in converters if found)  # none on PostgreSQL


@functools.cache
def _binary_cursor_class() -> type[Any]:
    import psycopg

    class BinaryCursor(psycopg.Cursor[Any]):
        """Server-side binding, results in binary: psycopg's text loader parsed each of a page's
        ~90 timestamps with a regex (1.6 ms for the query, 0.6 in binary)."""

        def execute(
            self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
        ) -> Any:
            return super().execute(query, params, prepare=prepare, binary=True)

    return BinaryCursor


_CONVERT = lambda value, converter: converter(value, None, connection)  # noqa: E731 -- a converter step (SQLite; PostgreSQL has none)


def _cursor(db: BaseDatabaseWrapper) -> Any:
    """A cursor for the feed's query, wrapped as Django wraps its own (query logging, execute_wrapper)."""
    return _binary_cursor(db) if db.vendor == "postgresql" else db.cursor()


def _binary_cursor(db: BaseDatabaseWrapper) -> Any:
    db.close_if_health_check_failed()
    db.ensure_connection()
    with db.wrap_database_errors:
        return db._prepare_cursor(_binary_cursor_class()(db.connection))  # type: ignore[attr-defined]  # as db.cursor() does


def _timeline_rows(viewer: User, ids: Sequence[str], user_graph: Graph) -> dict[str, Row]:
    """{id: row} of the ids the viewer may see now, for posts by the viewer and their followees.

    The feed's form of `Post.objects.visible_to`, for the ids its timelines hold: every one is
    by the viewer or by an author the graph says they follow (`_keep`). For those authors the
    follow admits "followers" posts and private accounts, and blocks end follows both ways, so
    visible_to comes down to: published, not deleted or hidden, the author active, and a
    "mentioned" post tags the viewer (or is the viewer's). The graph is replaced as soon as a
    follow, unfollow, block or mute commits. A much cheaper query than visible_to's, which
    matters on every feed read (`_timeline_sql`); tests/feeds/selectors/test_visibility.py
    checks that both agree.
    """
    if not ids:
        return {}
    viewer_id = str(viewer.pk)
    sql, converting = _timeline_sql(connection.vendor)
    db = connections[router.db_for_read(Post)]  # a read replica when socialsite.replicas allows it
    params = {
        "ids": (
            [UUID(pk) for pk in ids]  # a uuid[]
            if db.vendor == "postgresql"
            else json.dumps([Post._meta.pk.get_db_prep_value(UUID(pk), db) for pk in ids])
        ),
        "viewer": Post._meta.pk.get_db_prep_value(viewer.pk, db),
        "published": Post.Status.PUBLISHED.value,
        "mentioned": Post.Visibility.MENTIONED.value,
    }
    with _cursor(db) as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    kept: dict[str, Row] = {}
    for values in fetched:
        row = dict(zip(TIMELINE_FIELDS, values, strict=True))
        row.update({name: functools.reduce(_CONVERT, found, row[name]) for name, found in converting})
        if _keep(row, viewer_id, user_graph):
            kept[str(row["id"])] = row
    return kept


def _store_candidates(
    viewer: User, user_graph: Graph, *, before: Bound | None, after: Bound | None, count: int
) -> tuple[list[Entry], bool, bool]:
    """Merged entries newest first; whether all timelines ran out; whether one ran out at its cap."""
    store = get_store()
    viewer_id = str(viewer.pk)
    pulled = sorted(user_graph.celebrity_followees() - user_graph.muted)
    keys = [home_key(viewer_id)] + [author_key(pk) for pk in pulled]
    lists = store.range_many(keys, before=before, after=after, count=count, ttls={keys[0]: home_ttl()})
    if lists[0] is None:
        services.rebuild_home(user=viewer)
    for index, author_id in enumerate(pulled, start=1):
        if lists[index] is None:
            services.rebuild_author(author_id=UUID(author_id))
    if any(found is None for found in lists):
        lists = store.range_many(keys, before=before, after=after, count=count)
    merged: list[Entry] = []
    seen: set[str] = set()
    for entry in heapq.merge(*[found or [] for found in lists], reverse=True):
        if entry.post_id not in seen:
            seen.add(entry.post_id)
            merged.append(entry)
    exhausted = all(len(found or []) < count for found in lists)
    # Only when everything ran out: did a timeline drop older posts at its cap?
    caps = [settings.FEED_TIMELINE_CAP] + [settings.FEED_AUTHOR_TIMELINE_CAP] * len(pulled)
    trimmed = exhausted and any(store.size(key) >= cap for key, cap in zip(keys, caps, strict=True))
    return merged[:count], exhausted, trimmed


def _database_candidates(
    viewer: User, user_graph: Graph, *, before: Bound | None, after: Bound | None, count: int
) -> list[Entry]:
    """The pull-only path: the newest visible posts by followees and the viewer, from PostgreSQL."""
    authors = (user_graph.followees - user_graph.muted) | {str(viewer.pk)}
    queryset = Post.objects.visible_to(viewer).filter(status=Post.Status.PUBLISHED, author_id__in=authors)  # type: ignore[misc]  # UUIDs as text (affinities)
    if before is not None:
        at = moment_of(before[0])
        queryset = queryset.filter(Q(published_at__lt=at) | Q(published_at=at, id__lt=before[1]))
    if after is not None:
        at = moment_of(after[0])
        queryset = queryset.filter(Q(published_at__gt=at) | Q(published_at=at, id__gt=after[1]))
    rows = queryset.order_by("-published_at", "-id").values_list("id", "published_at")[:count]
    return [services.entry_of(pk, created) for pk, created in rows]


def _collect(
    viewer: User,
    user_graph: Graph,
    *,
    before: Bound | None,
    after: Bound | None,
    limit: int,
    pull_only: bool = False,
) -> tuple[list[tuple[Entry, Row]], str]:
    """Up to `limit` (entry, row) pairs newest first, and where they came from."""
    viewer_id = str(viewer.pk)
    picked: list[tuple[Entry, Row]] = []
    source = "store"
    bound = before
    if not pull_only:
        try:
            for _ in range(MAX_ROUNDS):
                want = limit - len(picked)
                entries, exhausted, home_full = _store_candidates(
                    viewer, user_graph, before=bound, after=after, count=want + 10
                )
                rows = _timeline_rows(viewer, [e.post_id for e in entries], user_graph)
                for entry in entries:
                    row = rows.get(entry.post_id)
                    if row is not None and len(picked) < limit:
                        picked.append((entry, row))
                if entries:
                    bound = (entries[-1].score, entries[-1].post_id)
                if len(picked) >= limit or exhausted:
                    break
            else:
                exhausted, home_full = True, True  # too much filtered out: let the database finish
            if len(picked) >= limit or not (exhausted and home_full) or after is not None:
                metrics.FEED_READS.labels(source).inc()
                return picked, source
            source = "mixed"  # older than anything the timelines hold
        except Unavailable as exc:
            logger.warning("feed store unavailable (%s): serving %s from the database", exc, viewer_id)
            picked, bound, source = [], before, "database"
    else:
        source = "database"
    entries = _database_candidates(viewer, user_graph, before=bound, after=after, count=limit - len(picked))
    rows = _timeline_rows(viewer, [e.post_id for e in entries], user_graph)
    picked += [(e, rows[e.post_id]) for e in entries if e.post_id in rows]
    metrics.FEED_READS.labels(source).inc()
    return picked, source


def home_feed(
    *,
    viewer: User,
    limit: int = 20,
    cursor: str | None = None,
    since: str | None = None,
    order: str = "latest",
    pull_only: bool = False,
) -> FeedPage:
    """One page of the viewer's home feed. `cursor` pages back; `since` returns only newer posts."""
    if order not in ORDERS:
        raise ServiceError("Unknown order.", code="invalid", fields={"order": [f"One of: {', '.join(ORDERS)}."]})
    user_graph = graph.graph_for(viewer.pk)
    if order == "top":
        return _top_feed(viewer, user_graph, limit=limit, cursor=cursor, pull_only=pull_only)
    if since:
        # The oldest `limit` posts newer than `since`, newest first; `previous` then continues
        # from the newest of them, so polling never skips a post.
        after = parse_cursor(since, viewer=viewer, name="since")
        cap = settings.FEED_TIMELINE_CAP
        picked, source = _collect(viewer, user_graph, before=None, after=after, limit=cap, pull_only=pull_only)
        picked = picked[-limit:]
        next_cursor = None
    else:
        before = parse_cursor(cursor, viewer=viewer) if cursor else None
        picked, source = _collect(viewer, user_graph, before=before, after=None, limit=limit + 1, pull_only=pull_only)
        next_cursor = cursor_of(picked[limit - 1][0]) if len(picked) > limit else None
        picked = picked[:limit]
    return FeedPage(
        rows=[row for _, row in picked],
        next_cursor=next_cursor,
        newest_cursor=cursor_of(picked[0][0]) if picked else (since or None),
        source=source,
    )


# --- ?order=top ------------------------------------------------------------------------------------


def top_score(row: Row, affinity: int, now: datetime) -> float:
    """Recency decay × engagement × affinity; see docs/api.md."""
    engagement: int = row["likes_count"] + 2 * row["comments_count"] + 3 * row["shares_count"]
    age_hours: float = max((now - row["published_at"]).total_seconds() / 3600, 0)
    decay: float = 0.5 ** (age_hours / TOP_HALF_LIFE_HOURS)  # typeshed types float ** float as Any
    return (1 + math.log1p(engagement)) * (1 + math.log1p(affinity)) * decay


def affinities(viewer: User, author_ids: Iterable[str], now: datetime) -> dict[str, int]:
    """How much the viewer engaged with each author lately: likes + 2 × comments on their posts."""
    since = now - timedelta(days=TOP_AFFINITY_DAYS)
    scores = dict.fromkeys(author_ids, 0)
    likes = (
        Like.objects.filter(user=viewer, created_at__gte=since, post__author_id__in=author_ids)  # type: ignore[misc]  # UUIDs as text: Django takes them, the stub wants UUID
        .values("post__author_id")
        .annotate(n=Count("id"))
    )
    for row in likes:
        scores[str(row["post__author_id"])] += row["n"]
    comments = (
        Comment.objects.filter(author=viewer, created_at__gte=since, deleted_at__isnull=True)
        .filter(post__author_id__in=author_ids)  # type: ignore[misc]  # UUIDs as text (above)
        .values("post__author_id")
        .annotate(n=Count("id"))
    )
    for row in comments:
        scores[str(row["post__author_id"])] += 2 * row["n"]
    return scores


def _top_key(viewer_id: UUID) -> str:
    return f"feed:top:{viewer_id}"


def _pack(ids: Sequence[str]) -> bytes:
    """A ranking as 16 bytes per post: 3.2 KB for 200 posts, where a pickled list of str took 8.3."""
    return b"".join(UUID(pk).bytes for pk in ids)


def _unpack(packed: bytes) -> list[str]:
    return [str(UUID(bytes=packed[at : at + 16])) for at in range(0, len(packed), 16)]


def _keep_ranking(viewer_id: UUID, packed: bytes) -> str:
    """Keep a ranking under the viewer's one key and return its token.

    The token is the ranking's digest, so a refresh that ranks the same posts the same way reuses
    its entry; a new ranking replaces the oldest kept beyond TOP_RANKINGS_KEPT, and the key lives
    TOP_RANKING_TTL from the last refresh. One key of at most TOP_RANKINGS_KEPT × 3.2 KB per user,
    however often they refresh (it was a new 8.3 KB key per refresh). Two refreshes at once may
    keep only one of their rankings: the other's next page is then an expired cursor.
    """
    token = hashlib.blake2b(packed, digest_size=8).hexdigest()
    key = _top_key(viewer_id)
    kept: dict[str, bytes] = safe_cache.get(key) or {}
    kept.pop(token, None)
    kept[token] = packed  # newest last
    safe_cache.set(key, dict(list(kept.items())[-TOP_RANKINGS_KEPT:]), TOP_RANKING_TTL)
    return token


def _top_feed(viewer: User, user_graph: Graph, *, limit: int, cursor: str | None, pull_only: bool) -> FeedPage:
    """Rank the recent candidates once, keep the order under a token, and page through it."""
    offset, packed = 0, None
    if cursor:
        token, _, offset_text = cursor.partition(":")
        kept = safe_cache.get(_top_key(viewer.pk)) if offset_text.isdigit() else None
        packed = kept.get(token) if isinstance(kept, dict) else None
        if packed is None:
            raise ServiceError(
                "This ranking expired; load the feed again.", code="invalid_cursor", fields={"cursor": ["Expired."]}
            )
        offset = int(offset_text)
    else:
        now = timezone.now()
        picked, _ = _collect(viewer, user_graph, before=None, after=None, limit=TOP_CANDIDATES, pull_only=pull_only)
        picked = [(e, row) for e, row in picked if now - row["published_at"] <= TOP_WINDOW]
        weights = affinities(viewer, {str(row["author_id"]) for _, row in picked}, now)
        ranked = sorted(
            picked,
            key=lambda pair: (top_score(pair[1], weights[str(pair[1]["author_id"])], now), pair[0]),
            reverse=True,
        )
        packed = _pack([e.post_id for e, _ in ranked])
        token = _keep_ranking(viewer.pk, packed)
    ids = _unpack(packed[16 * offset : 16 * (offset + limit)])
    rows = _timeline_rows(viewer, ids, user_graph)
    page = [rows[pk] for pk in ids if pk in rows]
    more = offset + limit < len(packed) // 16
    return FeedPage(
        rows=page,
        next_cursor=f"{token}:{offset + limit}" if more else None,
        newest_cursor=None,
        source="ranked",
    )


def page_payloads(page: FeedPage, *, viewer: User, request: HttpRequest) -> list[dict[str, Any]]:
    """The post payloads of a page, as PostOutput has them, counters fresh."""
    from posts import payloads

    shared_ids = [str(row["shared_post_id"]) for row in page.rows if row["shared_post_id"]]
    built: list[dict[str, Any]] = payloads.build(page.rows, _visible_rows(viewer, shared_ids), request)
    return built

"""Post payloads, cached: for lists that read many posts at once (the home feed, its page) and
for GET /posts/{id}.

The cached part is what only changes when the post or its author's profile is saved: the key
holds `updated_at` of both, so an edit, a moderation action, a fetched link card or a new
avatar makes a new key and the old one just expires (PAYLOAD_TTL). Counters, liked_by_me, bookmarked and
the shared post are never cached: they come fresh from the visibility query on every read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from posts import selectors
from posts.api.serializers import PostOutput, SharedPostOutput
from posts.models import Post
from socialsite import safe_cache
from socialsite.errors import NotFoundError
from socialsite.params import parse_uuid

if TYPE_CHECKING:
    from django.http import HttpRequest

    from posts.selectors import Viewer

    Row = Mapping[str, Any]  # a values() row of a visibility query

PAYLOAD_TTL = 3600
FRESH = ("likes_count", "comments_count", "shares_count")


def _key(row: Row, origin: str) -> str:
    stamp = f"{row['updated_at'].timestamp():.6f}:{row['author__profile__updated_at'].timestamp():.6f}"
    return f"post-payload:v2:{origin}:{row['id']}:{stamp}"


def build(rows: Sequence[Row], shared_rows: Mapping[str, Row], request: HttpRequest | None) -> list[dict[str, Any]]:
    """Payloads for `rows` (values from a visibility query), in order; `shared_rows` holds the
    shared posts the viewer may see, by id."""
    origin = request.build_absolute_uri("/").rstrip("/") if request is not None else ""
    wanted = {str(row["id"]): row for row in [*rows, *shared_rows.values()]}
    keys = {pk: _key(row, origin) for pk, row in wanted.items()}
    found = safe_cache.get_many(list(keys.values()))
    static = {pk: found[key] for pk, key in keys.items() if key in found}
    missing = [pk for pk in wanted if pk not in static]
    if missing:
        posts = selectors.payload_queryset(Post.objects.filter(pk__in=missing))
        made = {str(post.pk): dict(SharedPostOutput(post, context={"request": request}).data) for post in posts}
        safe_cache.set_many({keys[pk]: data for pk, data in made.items()}, PAYLOAD_TTL)
        static.update(made)

    def payload(row: Row, nested: bool) -> dict[str, Any]:
        data = dict(static[str(row["id"])])
        data.update({name: row[name] for name in FRESH})
        if nested:
            data["status"] = Post.Status.PUBLISHED
            data["liked_by_me"] = bool(row["liked_by_me"])
            data["bookmarked"] = bool(row.get("bookmarked"))
            shared = shared_rows.get(str(row["shared_post_id"])) if row["shared_post_id"] else None
            data["shared_post"] = payload(shared, False) if shared is not None else None
        return data

    return [payload(row, True) for row in rows if str(row["id"]) in static]


def detail(*, viewer: Viewer, post_id: object, request: HttpRequest) -> dict[str, Any]:
    """PostOutput of a post the viewer may see, else NotFoundError: one query for the row (its
    visibility, counters and liked_by_me), one more for a share's original, the rest cached."""
    pk = parse_uuid(post_id, "No such post.")
    row = selectors.payload_row(viewer=viewer, pk=pk, published=False)
    if row is None:
        raise NotFoundError("No such post.")
    if row["status"] != Post.Status.PUBLISHED:
        # Only its author sees it, and its media settle one by one without moving updated_at
        # (the key): read it whole.
        post = selectors.post_get(viewer=viewer, post_id=pk)
        return dict(PostOutput(post, context={"request": request}).data)
    shared = row["shared_post_id"]
    shared_row = selectors.payload_row(viewer=viewer, pk=shared) if shared else None
    shared_rows = {str(shared): shared_row} if shared_row is not None else {}
    built = build([row], shared_rows, request)
    if not built:  # deleted for good since the row was read
        raise NotFoundError("No such post.")
    return built[0]

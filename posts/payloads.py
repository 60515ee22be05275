"""Post payloads for lists that read many posts at once (the home feed), cached.

The cached part is what only changes when the post or its author's profile is saved: the key
holds `updated_at` of both, so an edit, a moderation action, a fetched link card or a new
avatar makes a new key and the old one just expires (PAYLOAD_TTL). Counters, liked_by_me and
the shared post are never cached: they come fresh from the visibility query on every read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from posts import selectors
from posts.api.serializers import SharedPostOutput
from posts.models import Post
from socialsite import safe_cache

if TYPE_CHECKING:
    from django.http import HttpRequest

    Row = Mapping[str, Any]  # a values() row of a visibility query

PAYLOAD_TTL = 3600
FRESH = ("likes_count", "comments_count", "shares_count")


def _key(row: Row, origin: str) -> str:
    stamp = f"{row['updated_at'].timestamp():.6f}:{row['author__profile__updated_at'].timestamp():.6f}"
    return f"post-payload:v1:{origin}:{row['id']}:{stamp}"


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
            shared = shared_rows.get(str(row["shared_post_id"])) if row["shared_post_id"] else None
            data["shared_post"] = payload(shared, False) if shared is not None else None
        return data

    return [payload(row, True) for row in rows if str(row["id"]) in static]

"""Post cards for pages that list many posts (the home feed), from fragments cached per post version.

A card is its body (author, text, media, link card, tags, the shared post: the same for every
viewer, templates/posts/_post_body.html) and its buttons (like, comment, share, report: the
viewer's own state and the counters). The body's HTML is cached; its key holds what it is made
of: the stamps posts.payloads keys on (the post's and its author's profile's `updated_at`), the
shared post's, whether this viewer may see that one, the language and the time zone. So an
edit, a moderation action, a fetched link card, media settling, a new name or avatar makes a new
key and the old entry just expires (CARD_TTL). Counters and liked_by_me never come from the
cache: they are the feed's rows, read on every request. Only the posts whose body is missing
are loaded as objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from posts import selectors
from posts.models import Post
from socialsite import safe_cache

if TYPE_CHECKING:
    from django.http import HttpRequest

    Row = Mapping[str, Any]  # a values() row of a visibility query, with fresh counters

# Under the life of the signed media URLs in the body (at least two windows of an hour).
CARD_TTL = 1800


def _stamp(row: Row) -> str:
    return f"{row['id']}@{row['updated_at'].timestamp():.6f}:{row['author__profile__updated_at'].timestamp():.6f}"


def _key(row: Row, shared: Row | None) -> str:
    original = "-"
    if row["shared_post_id"]:
        original = _stamp(shared) if shared is not None else "gone"  # gone: this viewer can't see it
    zone = timezone.get_current_timezone_name()
    return f"post-card:v1:{translation.get_language()}:{zone}:{_stamp(row)}:{original}"


def _entry(post: Post) -> dict[str, Any]:
    """What the cache keeps of a post: the body and the static facts its buttons need."""
    shared = post.shared_post if post.is_repost else None

    def facts(of: Post) -> dict[str, Any]:
        return {"visibility": of.visibility, "author": {"profile": {"is_private": of.author.profile.is_private}}}

    return {
        "body": render_to_string("posts/_post_body.html", {"post": post}),
        "author_username": post.author.username,
        "actions_of": str(shared.pk) if shared is not None else None,
        "actions": facts(shared if shared is not None else post),
    }


def render(request: HttpRequest, rows: Sequence[Row]) -> list[dict[str, Any]]:
    """The cards of `rows` (published posts the viewer may see: values with TIMELINE_FIELDS),
    in order, for templates/posts/_post_card.html."""
    viewer = request.user
    shared_ids = [row["shared_post_id"] for row in rows if row["shared_post_id"]]
    shared_rows = selectors.payload_rows(viewer=viewer, ids=shared_ids) if shared_ids else {}
    keys = {str(row["id"]): _key(row, shared_rows.get(str(row["shared_post_id"]))) for row in rows}
    found = safe_cache.get_many(list(keys.values()))
    missing = [pk for pk, key in keys.items() if key not in found]
    if missing:
        posts = selectors.with_payload(Post.objects.filter(pk__in=missing), viewer)
        made = {keys[str(post.pk)]: _entry(post) for post in posts}
        safe_cache.set_many(made, CARD_TTL)
        found.update(made)
    cards = []
    for row in rows:
        entry = found.get(keys[str(row["id"])])
        if entry is None:  # deleted for good since the feed read it
            continue
        counted = shared_rows.get(entry["actions_of"], row) if entry["actions_of"] else row
        actions = {
            **entry["actions"],
            "pk": counted["id"],
            "likes_count": counted["likes_count"],
            "comments_count": counted["comments_count"],
            "shares_count": counted["shares_count"],
            "liked_by_me": bool(counted["liked_by_me"]),
        }
        cards.append(
            {
                "pk": row["id"],
                "author_id": row["author_id"],
                "author_username": entry["author_username"],
                "body": mark_safe(entry["body"]),  # noqa: S308 -- rendered by our template, escaped there
                "actions": actions,
            }
        )
    return cards

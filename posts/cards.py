"""Post cards for pages that list many posts (the home feed), from fragments cached per post version.

A card is its body (author, text, media, link card, tags, the shared post: the same for every
viewer, templates/posts/_post_body.html) and its buttons (like, comment, share, report: the
viewer's own state and the counters). The body's HTML is cached; its key holds what it is made
of: the stamps posts.payloads keys on (the post's and its author's profile's `updated_at`), the
shared post's, whether this viewer may see that one, the language and the time zone. So an
edit, a moderation action, a fetched link card, media settling, a new name or avatar makes a new
key and the old entry just expires (CARD_TTL). Counters, liked_by_me and bookmarked never come from the
cache: they are the feed's rows, read on every request. Only the posts whose body is missing
are loaded as objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import mark_safe

from posts import selectors
from posts.models import Post
from posts.templatetags.posts_tags import POST_PK_MARK, post_url_pattern
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
    return f"post-card:v2:{translation.get_language()}:{zone}:{_stamp(row)}:{original}"


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
    """The cards of `rows` (published posts a signed-in viewer may see: values with
    TIMELINE_FIELDS), in order, for templates/posts/_post_cards.html."""
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
    # Once a page, not once a form: a {% csrf_token %} per form was 40 get_token() calls.
    token = escape(get_token(request))
    page = {
        "csrf": f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">',
        "next": escape(request.get_full_path()),
        "viewer_pk": viewer.pk,
        # Each route reversed once per process (posts_tags), looked up once a page.
        "urls": {
            name: post_url_pattern(name)
            for name in ("post_like", "post_unlike", "post_detail", "post_share", "post_bookmark", "post_unbookmark")
        }
        | {"report": post_url_pattern("report", "post")},
    }
    cards = []
    for row in rows:
        entry = found.get(keys[str(row["id"])])
        if entry is None:  # deleted for good since the feed read it
            continue
        counted = shared_rows.get(entry["actions_of"], row) if entry["actions_of"] else row
        username = entry["author_username"]
        cards.append(
            {
                "pk": str(row["id"]),
                "body": mark_safe(entry["body"]),  # noqa: S308 -- rendered by our template, escaped there
                "actions": mark_safe(_actions(row, counted, entry["actions"], username, page)),  # noqa: S308 -- escaped in _actions
            }
        )
    return cards


# A card's buttons: posts/_post_actions.html (with _like_button.html, _share_button.html and
# _bookmark_button.html) and
# posts/_post.html's Report link, for a signed-in viewer, as one format string. Rendering them as
# templates was four includes and some twenty variable lookups a card, most of the home page's
# rendering. tests/posts/web/test_cards.py checks the cards against posts/_post.html.
_LIKE = (
    '<form class="post-action" method="post" action="{url}" hx-post="{url}" hx-target="this" hx-swap="outerHTML">\n'
    "{csrf}\n"
    '<input type="hidden" name="next" value="{next}">\n'
    '<button class="btn btn--ghost btn--small post-action__button{on}" type="submit" aria-pressed="{pressed}" data-like-state="{state}">\n'
    '<span aria-hidden="true">{glyph}</span> {label}<span class="sr-only"> this post,</span>\n'
    '<span class="post-action__count" data-count="likes">{count}</span><span class="sr-only"> like{s}</span>\n'
    "</button>\n"
    "</form>\n"
)
_LIKED = {
    True: {"on": " post-action__button--on", "pressed": "true", "state": "liked", "glyph": "♥", "label": "Liked"},
    False: {"on": "", "pressed": "false", "state": "none", "glyph": "♡", "label": "Like"},
}
_COMMENTS = (
    '<a class="btn btn--ghost btn--small post-action__button" href="{url}#comments">'
    '<span class="post-action__count" data-count="comments">{count}</span> comment{s}</a>\n'
)
_SHARE = (
    '<form class="post-action" method="post" action="{url}" hx-post="{url}" hx-target="this" hx-swap="outerHTML">\n'
    "{csrf}\n"
    '<input type="hidden" name="next" value="{next}">\n'
    '<button class="btn btn--ghost btn--small post-action__button" type="submit" data-share-state="none">\n'
    '<span aria-hidden="true">⟳</span> Share<span class="sr-only"> this post,</span>\n'
    '<span class="post-action__count" data-count="shares">{count}</span><span class="sr-only"> share{s}</span>\n'
    "</button>\n"
    "</form>\n"
)
_SHARES = (
    '<span class="post-action__static"><span aria-hidden="true">⟳</span> '
    '<span class="post-action__count" data-count="shares">{count}</span> share{s}</span>\n'
)
_BOOKMARK = (
    '<form class="post-action" method="post" action="{url}" hx-post="{url}" hx-target="this" hx-swap="outerHTML">\n'
    "{csrf}\n"
    '<input type="hidden" name="next" value="{next}">\n'
    '<button class="btn btn--ghost btn--small post-action__button{on}" type="submit" aria-pressed="{pressed}" data-bookmark-state="{state}">\n'
    '<span aria-hidden="true">{glyph}</span> {label}<span class="sr-only"> this post</span>\n'
    "</button>\n"
    "</form>\n"
)
_BOOKMARKED = {
    True: {"on": " post-action__button--on", "pressed": "true", "state": "saved", "glyph": "★", "label": "Bookmarked"},
    False: {"on": "", "pressed": "false", "state": "none", "glyph": "☆", "label": "Bookmark"},
}
_REPORT = (
    '<a class="btn btn--ghost btn--small post-action__button" href="{url}">'
    'Report<span class="sr-only"> post by @{username}</span></a>'
)


def _s(count: int) -> str:
    return "" if count == 1 else "s"  # {{ count|pluralize }}


def _actions(row: Row, counted: Row, facts: Mapping[str, Any], username: str, page: Mapping[str, Any]) -> str:
    """A card's buttons. A repost's buttons and counts are its original's (`counted`, `facts`).
    Counters print as {{ count }} does with no thousand separator set (the setting's default)."""
    pk, own = str(counted["id"]), str(row["id"])
    urls = page["urls"]
    liked = bool(counted["liked_by_me"])
    likes, comments, shares = counted["likes_count"], counted["comments_count"], counted["shares_count"]
    parts = [
        _LIKE.format(
            url=urls["post_unlike" if liked else "post_like"].replace(POST_PK_MARK, pk),
            count=likes,
            s=_s(likes),
            csrf=page["csrf"],
            next=page["next"],
            **_LIKED[liked],
        ),
        _COMMENTS.format(url=urls["post_detail"].replace(POST_PK_MARK, pk), count=comments, s=_s(comments)),
    ]
    if facts["visibility"] == "public" and not facts["author"]["profile"]["is_private"]:
        url = urls["post_share"].replace(POST_PK_MARK, pk)
        parts.append(_SHARE.format(url=url, count=shares, s=_s(shares), csrf=page["csrf"], next=page["next"]))
    else:
        parts.append(_SHARES.format(count=shares, s=_s(shares)))
    bookmarked = bool(counted["bookmarked"])
    parts.append(
        _BOOKMARK.format(
            url=urls["post_unbookmark" if bookmarked else "post_bookmark"].replace(POST_PK_MARK, pk),
            csrf=page["csrf"],
            next=page["next"],
            **_BOOKMARKED[bookmarked],
        )
    )
    if page["viewer_pk"] != row["author_id"]:
        parts.append(_REPORT.format(url=urls["report"].replace(POST_PK_MARK, own), username=escape(username)))
    return "".join(parts)

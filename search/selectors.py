"""Reads for search: ask the backend for ids, then load them through `visible_to` (a stale index
can't show what the viewer may not see) in a bounded number of queries, best first."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import Exists, IntegerField, Model, OuterRef, QuerySet, Subquery

from accounts.models import Follow, User
from posts import selectors as posts_selectors
from posts.models import Hashtag, Post
from search.backends import SearchUnavailable, backend, database_backend
from socialsite import breakers

if TYPE_CHECKING:
    from uuid import UUID

    from django.contrib.auth.models import AnonymousUser

    from search.query import Search

    Viewer = User | AnonymousUser

M = TypeVar("M", bound=Model)

HASHTAG_COUNT_MAX = 1000  # "1,000+ posts"


def _in_order(ids: Sequence[Any], rows: Iterable[M]) -> list[M]:
    by_id = {row.pk: row for row in rows}
    return [by_id[pk] for pk in ids if pk in by_id]


def posts_by_id(viewer: Viewer, ids: Sequence[UUID]) -> list[Post]:
    return _in_order(
        ids, posts_selectors.with_payload(posts_selectors.published_posts(viewer=viewer), viewer).filter(pk__in=ids)
    )


def users_by_id(viewer: Viewer, ids: Sequence[UUID]) -> list[User]:
    users: QuerySet[User] = User.objects.findable_by(viewer).select_related("profile").filter(pk__in=ids)
    if viewer.is_authenticated:
        users = users.annotate(followed_by_me=Exists(Follow.objects.filter(follower=viewer, followed=OuterRef("pk"))))
    return _in_order(ids, users)


class _CappedCount(Subquery):
    """COUNT(*) of a sliced subquery: how many rows, up to the slice's end."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _capped)"
    output_field = IntegerField()


def hashtags_by_id(ids: Sequence[int]) -> list[Hashtag]:
    """With how many public posts use each (what a stranger finds on its page), counted up to
    HASHTAG_COUNT_MAX: a tag on 50,000 posts would otherwise be counted on every keystroke."""
    public = Post.objects.visible_to(None).filter(hashtags=OuterRef("pk")).values("pk")[:HASHTAG_COUNT_MAX]
    return _in_order(ids, Hashtag.objects.filter(pk__in=ids).annotate(posts_count=_CappedCount(public)))


LOADERS: dict[str, Callable[[Viewer, Sequence[Any]], Sequence[Model]]] = {
    "post": posts_by_id,
    "user": users_by_id,
    "hashtag": lambda viewer, ids: hashtags_by_id(ids),
}


def _ask(method: str, *args: Any) -> Any:
    """The backend's answer; the database's while Elasticsearch is down (its breaker open, or
    this call failed): the same rows for posts, people and hashtags, ranked its own way."""
    if not breakers.is_open("elasticsearch"):
        try:
            return getattr(backend(), method)(*args)
        except SearchUnavailable:
            pass
    return getattr(database_backend(), method)(*args)


def search(viewer: Viewer, search: Search, *, offset: int, limit: int) -> tuple[Sequence[Model], bool]:
    """-> (rows of the page, best first; whether more may follow). Asks the backend for one more
    than the page to know if there is a next one."""
    ids = _ask(f"{search.type}s", viewer, search, offset, limit + 1)
    rows = LOADERS[search.type](viewer, ids[:limit])
    return rows, len(ids) > limit


def complete(viewer: Viewer, kind: str, prefix: str, limit: int) -> list[User] | list[Hashtag]:
    if kind == "user":
        return users_by_id(viewer, _ask("complete_users", viewer, prefix, limit))
    return hashtags_by_id(_ask("complete_hashtags", prefix, limit))

"""The social graph the feed reads, cached: whom a user follows and mutes, and who is a celebrity.

TTLs: a user's followees and mutes live GRAPH_TTL (10 min) and are replaced on every follow,
unfollow, block and mute that involves them (feeds.receivers), so the TTL only bounds memory.
The celebrity set is global and small; it lives CELEBRITIES_TTL (60 s) and is replaced when a
tier changes (feeds.services.tier_sync). Both come in one cache round trip; if the cache is
down, both are read from the database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID

from accounts.models import Follow, Mute
from feeds.models import Celebrity
from socialsite import safe_cache

GRAPH_TTL = 600
CELEBRITIES_TTL = 60
CELEBRITIES_KEY = "feed:celebrities"


def _graph_key(user_id: UUID) -> str:
    return f"feed:graph:{user_id}"


@dataclass(frozen=True)
class Graph:
    followees: frozenset[str]  # ids the user follows
    muted: frozenset[str]  # ids the user muted
    celebrities: frozenset[str] = frozenset()  # every celebrity's id; filled on read, cached apart

    def celebrity_followees(self) -> frozenset[str]:
        return self.followees & self.celebrities


def _load_graph(user_id: UUID) -> Graph:
    return Graph(
        followees=frozenset(
            str(pk) for pk in Follow.objects.filter(follower_id=user_id).values_list("followed_id", flat=True)
        ),
        muted=frozenset(str(pk) for pk in Mute.objects.filter(muter_id=user_id).values_list("muted_id", flat=True)),
    )


# Readers fill a missing entry with add(), writers replace it with set() after their commit:
# a reader that loaded the graph just before a change can't overwrite the fresh one.


def graph_for(user_id: UUID) -> Graph:
    """The user's graph with the current celebrity set."""
    key = _graph_key(user_id)
    found = safe_cache.get_many([key, CELEBRITIES_KEY])
    graph: Graph | None = found.get(key)
    if graph is None:
        graph = _load_graph(user_id)
        safe_cache.add(key, graph, GRAPH_TTL)
    ids: frozenset[str] | None = found.get(CELEBRITIES_KEY)
    if ids is None:
        ids = _load_celebrities()
        safe_cache.add(CELEBRITIES_KEY, ids, CELEBRITIES_TTL)
    return replace(graph, celebrities=ids)


def refresh_graph(*user_ids: UUID) -> None:
    """After a follow, unfollow, block or mute has committed."""
    for user_id in user_ids:
        safe_cache.set(_graph_key(user_id), _load_graph(user_id), GRAPH_TTL)


def _load_celebrities() -> frozenset[str]:
    return frozenset(str(pk) for pk in Celebrity.objects.values_list("author_id", flat=True))


def refresh_celebrities() -> None:
    """After a tier change has committed."""
    safe_cache.set(CELEBRITIES_KEY, _load_celebrities(), CELEBRITIES_TTL)

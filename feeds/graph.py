"""The social graph the feed reads, cached: whom a user follows and mutes, and who is a celebrity.

TTLs: a user's followees and mutes live GRAPH_TTL (10 min) and are deleted on every follow,
unfollow, block and mute that involves them (feeds.receivers), so the TTL only bounds memory.
The celebrity set is global and small; it lives CELEBRITIES_TTL (60 s) and is deleted when a
tier changes (feeds.services.tier_sync). If the cache is down, both are read from the database.
"""

from dataclasses import dataclass

from accounts.models import Follow, Mute
from feeds.models import Celebrity
from socialsite import safe_cache

GRAPH_TTL = 600
CELEBRITIES_TTL = 60
CELEBRITIES_KEY = "feed:celebrities"


def _graph_key(user_id):
    return f"feed:graph:{user_id}"


@dataclass(frozen=True)
class Graph:
    followees: frozenset  # ids (str) the user follows
    muted: frozenset  # ids (str) the user muted

    def celebrity_followees(self):
        return self.followees & celebrities()


def graph_for(user_id):
    cached = safe_cache.get(_graph_key(user_id))
    if cached is not None:
        return cached
    graph = Graph(
        followees=frozenset(
            str(pk) for pk in Follow.objects.filter(follower_id=user_id).values_list("followed_id", flat=True)
        ),
        muted=frozenset(str(pk) for pk in Mute.objects.filter(muter_id=user_id).values_list("muted_id", flat=True)),
    )
    safe_cache.set(_graph_key(user_id), graph, GRAPH_TTL)
    return graph


def forget_graph(*user_ids):
    safe_cache.delete_many([_graph_key(pk) for pk in user_ids])


def celebrities():
    cached = safe_cache.get(CELEBRITIES_KEY)
    if cached is not None:
        return cached
    ids = frozenset(str(pk) for pk in Celebrity.objects.values_list("author_id", flat=True))
    safe_cache.set(CELEBRITIES_KEY, ids, CELEBRITIES_TTL)
    return ids


def forget_celebrities():
    safe_cache.delete_many([CELEBRITIES_KEY])

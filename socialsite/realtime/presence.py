"""Who has a socket open now, so events meant for listeners go only to them.

Each open socket marks its user online until ONLINE_TTL seconds from now, and the process
renews the marks of all its open sockets every HEARTBEAT seconds (heartbeat.py: one ZADD and one
UPDATE of last_active for many sockets, not a task and a write per socket). With REDIS_URL the
marks are one sorted set
(user id → online until), so one ZMSCORE answers for a whole fan-out batch; without it, the
embedded default keeps them in process, where its one Daphne runs every socket. A closed
socket's mark runs out: for up to ONLINE_TTL an event may go to a user with no socket, and
nothing receives it. If Redis is down nobody looks online; clients catch up over REST.
"""

import logging
import threading
import time
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

HEARTBEAT = 60
ONLINE_TTL = 2 * HEARTBEAT + 30


class _MemoryMarks:
    def __init__(self):
        self._until = {}
        self._lock = threading.Lock()

    def mark(self, user_ids, until):
        with self._lock:
            now = time.time()
            self._until = {pk: t for pk, t in self._until.items() if t > now}
            self._until.update(dict.fromkeys(user_ids, until))

    def among(self, user_ids, now):
        with self._lock:
            return [pk for pk in user_ids if self._until.get(pk, 0) > now]


class _RedisMarks:
    KEY = "realtime:online"

    def __init__(self, url, cluster=False):
        import redis

        from socialsite.cache import cluster_client

        options = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
        # On a cluster the one key lives on one node, as on a single Redis.
        self.client = cluster_client(url, **options) if cluster else redis.Redis.from_url(url, **options)

    def mark(self, user_ids, until):
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(self.KEY, dict.fromkeys(user_ids, until))
        pipe.zremrangebyscore(self.KEY, "-inf", time.time())  # marks that ran out
        pipe.execute()

    def among(self, user_ids, now):
        scores = self.client.zmscore(self.KEY, user_ids)
        return [pk for pk, until in zip(user_ids, scores, strict=True) if until is not None and until > now]


@cache
def _marks_for(url, cluster=False):
    return _RedisMarks(url, cluster) if url else _MemoryMarks()


def _marks():
    return _marks_for(settings.REDIS_URL, settings.REDIS_CLUSTER)


def set_online(user_ids):
    ids = [str(pk) for pk in user_ids]
    if ids:
        try:
            _marks().mark(ids, time.time() + ONLINE_TTL)
        except Exception as exc:
            logger.warning("presence unavailable (%s); %d users not marked online", exc, len(ids))


def touch_active(user_ids):
    """Users with a socket open count as active (fan-out puts them on its hot queue): one UPDATE."""
    users_touch_last_active = import_string(settings.REALTIME_TOUCH_ACTIVE)
    try:
        users_touch_last_active(user_ids=user_ids)
    except Exception as exc:  # presence works without it; the next heartbeat tries again
        logger.warning("last_active not recorded for %d users (%s)", len(user_ids), exc)


def online_among(user_ids):
    """The ones of these user ids (str) that have a socket open."""
    if not user_ids:
        return []
    try:
        return _marks().among(list(user_ids), time.time())
    except Exception as exc:
        logger.warning("presence unavailable (%s); treating %d users as offline", exc, len(user_ids))
        return []

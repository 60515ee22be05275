"""Which conversation each open socket shows, so a message notifies only members who aren't
looking at it.

A socket says so with the `conversation.view` action: chat.js sends it when a conversation is on
screen, again every 60 s while it stays there, and with `null` when the tab is hidden or left;
the consumer clears its mark when the socket closes. Marks live in the cache for VIEW_TTL
seconds, so a socket that vanished without a word stops counting after that. Two sockets of
one user changing their marks at the same instant can lose one mark until its next renewal:
the cost is one notification too many, never one missed.
"""

import time

from django.core.cache import cache

VIEW_TTL = 90


def _key(user_id, conversation_id):
    return f"messaging:viewing:{user_id}:{conversation_id}"


def _live(marks, now):
    return {socket: until for socket, until in (marks or {}).items() if until > now}


def view(user_id, conversation_id, socket_id):
    key, now = _key(user_id, conversation_id), time.time()
    marks = _live(cache.get(key), now)
    marks[socket_id] = now + VIEW_TTL
    cache.set(key, marks, VIEW_TTL)


def leave(user_id, conversation_id, socket_id):
    key, now = _key(user_id, conversation_id), time.time()
    marks = _live(cache.get(key), now)
    if marks.pop(socket_id, None) is None:
        return
    if marks:
        cache.set(key, marks, VIEW_TTL)
    else:
        cache.delete(key)


def is_viewing(user_id, conversation_id):
    return bool(_live(cache.get(_key(user_id, conversation_id)), time.time()))

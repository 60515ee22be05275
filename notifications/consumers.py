"""Socket action for notifications: resume after a gap, as SSE's Last-Event-ID does.

A socket that was down, or that was told `session.resync`, asks for what it missed since the last
notification it holds; the notifications come as `notification.new` frames on that socket only,
oldest first, then the reply (docs/realtime.md "Gaps and resync").
"""

from django.conf import settings

from notifications import selectors
from socialsite import ratelimit
from socialsite.params import uuid_or_none
from socialsite.realtime.consumers import ActionError, register_action
from socialsite.realtime.threads import in_thread_pool

RESUME_LIMIT = 100  # per call, as SSE's catch-up; the reply's `more` says to ask again


def _resume(user, after):
    """(payloads newer than `after`, more, the newest id, unread count). Counts towards THROTTLE_API
    with the SSE stream and the long-poll: each call can read a hundred rows."""
    ratelimit.hit("notifications_listen", user.pk, settings.THROTTLE_API)
    if after is None:  # a first call: nothing to replay, only the cursor to keep
        latest = selectors.latest_id(user)
        return [], False, str(latest) if latest else None, selectors.unread_count(user)
    rows = selectors.newer_than(user, after, limit=RESUME_LIMIT + 1)
    more, rows = len(rows) > RESUME_LIMIT, rows[:RESUME_LIMIT]
    payloads = [selectors.notification_payload(row) for row in rows]
    return payloads, more, payloads[-1]["id"] if payloads else after, selectors.unread_count(user)


@register_action("notifications.resume")
async def notifications_resume(consumer, data):
    """{"after": <the newest notification id held> | null} -> notification.new frames for the newer
    ones, then {"event": "notifications.resumed", "data": {"last_id", "count", "more", "unread_count"}}."""
    after = data.get("after")
    if after is not None and uuid_or_none(after) is None:
        raise ActionError("invalid", '"after" is a notification id, or null.')
    payloads, more, last_id, unread = await in_thread_pool(_resume)(consumer.user, after)
    for payload in payloads:
        await consumer.send_event("notification.new", payload)
    return {
        "event": "notifications.resumed",
        "data": {"last_id": last_id, "count": len(payloads), "more": more, "unread_count": unread},
    }

"""Reads for notifications: the flat list, the grouped list, unread counts, and what one row says.

Everything starts from Notification.objects.visible_to(user).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.db.models import Count, F, Max, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.urls import reverse

from notifications.models import Notification
from socialsite import safe_cache
from socialsite.params import uuid_or_none

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User
    from notifications.models import Bell

Type = Notification.Type

# Actors shown by name on a grouped line ("Ana, Bo and 11 others liked your post").
GROUP_SAMPLE = 3

_VERBS: dict[str, str] = {
    Type.FOLLOW: "followed you",
    Type.FOLLOW_REQUEST: "asked to follow you",
    Type.FOLLOW_ACCEPTED: "accepted your follow request",
    Type.LIKE: "liked your post",
    Type.COMMENT: "commented on your post",
    Type.REPLY: "replied to your comment",
    Type.MENTION: "mentioned you",
    Type.SHARE: "shared your post",
    Type.MESSAGE: "sent you a message",
    Type.NEW_POST: "posted",
    Type.GROUP_ADDED: "added you to a group",
    Type.GROUP_REMOVED: "removed you from a group",
}
# What a line says when nobody did anything to you: it is about your own post.
_NOTICES: dict[str, str] = {Type.POST_FAILED: "Your post couldn't be published"}


# A moderation notice says what happened to what (payload "what" and "target"); the reason is its excerpt.
_MODERATION: dict[str | None, str] = {
    "warn": "A moderator warned you",
    "hide": "A moderator hid your {target}",
    "remove": "A moderator removed your {target}",
    "appeal_upheld": "Your appeal was turned down",
    "appeal_reversed": "Your appeal was accepted",
}


def moderation_text(payload: Mapping[str, Any]) -> str:
    template = _MODERATION.get(payload.get("what"), "A moderator acted on your account")
    return template.format(target=payload.get("target") or "post")


def _text(kind: str, names: str, verb: str | None = None, payload: Mapping[str, Any] | None = None) -> str:
    if kind == Type.MODERATION:
        return moderation_text(payload or {})
    return _NOTICES.get(kind) or f"{names} {verb or _VERBS[kind]}"


def notifications_for(
    user: User, *, read_status: bool | None = None, kind: str | None = None
) -> QuerySet[Notification]:
    """The user's notifications, newest first, with what a line shows joined in."""
    rows: QuerySet[Notification] = Notification.objects.visible_to(user).select_related("actor__profile")
    if read_status is not None:
        rows = rows.filter(read_at__isnull=not read_status)
    if kind is not None:
        rows = rows.filter(type=kind)
    return rows.order_by("-created_at", "-id")


def groups_for(user: User, *, read_status: bool | None = None, kind: str | None = None) -> QuerySet[Notification, Any]:
    """One row per group_key: {group_key, type, latest_at, count, actors, unread}, newest group first."""
    return (
        notifications_for(user, read_status=read_status, kind=kind)
        .order_by()
        .values("group_key", "type")
        .annotate(
            latest_at=Max("created_at"),
            count=Count("id"),
            actors=Count("actor", distinct=True),
            unread=Count("id", filter=Q(read_at__isnull=True)),
        )
        .order_by("-latest_at")
    )


def group_samples(
    user: User, group_keys: Iterable[str], *, read_status: bool | None = None, kind: str | None = None
) -> dict[str, list[Notification]]:
    """{group_key: its newest GROUP_SAMPLE notifications}, in one query."""
    if not group_keys:
        return {}
    ranked = (
        notifications_for(user, read_status=read_status, kind=kind)
        .filter(group_key__in=group_keys)
        .annotate(
            rank=Window(RowNumber(), partition_by=F("group_key"), order_by=[F("created_at").desc(), F("id").desc()])
        )
        .filter(rank__lte=GROUP_SAMPLE)
    )
    samples: dict[str, list[Notification]] = {}
    for row in ranked:
        samples.setdefault(row.group_key, []).append(row)
    return samples


# The bell counts this far ("999+" beyond), so its query stays bounded however much piles up.
UNREAD_COUNT_MAX = 1000


def unread_count(user: User) -> int:
    count: int = Notification.objects.visible_to(user).unread()[:UNREAD_COUNT_MAX].count()
    return count


# The header bell's count on every page is cached. Every write to a user's notifications drops it
# (notifications.services.forget_unread: a new one, a read, a withdrawal, a block or mute); what
# else hides a notification (its post deleted or hidden, its actor deactivated) shows within this.
UNREAD_CACHE_SECONDS = 60


def unread_key(user_id: uuid.UUID | str) -> str:
    return f"notifications:unread:v1:{user_id}"


def unread_count_cached(user: User) -> int:
    """unread_count, cached per user for the pages' header."""
    count: int = safe_cache.remember(unread_key(user.pk), lambda: unread_count(user), UNREAD_CACHE_SECONDS)
    return count


def _actor(user: User) -> dict[str, str | None]:
    avatar = user.profile.avatar
    return {
        "id": str(user.pk),
        "username": user.username,
        "display_name": user.profile.name or user.username,
        "avatar_url": avatar.url if avatar else None,
    }


def target_url(notification: Notification) -> str:
    """Where a line links to on the site."""
    kind = notification.type
    if notification.comment_id:
        return (
            reverse("comment_thread", args=[notification.post_id, notification.comment_id])
            + f"#comment-{notification.comment_id}"
        )
    if notification.post_id:
        return reverse("post_detail", args=[notification.post_id])
    if notification.conversation_id:
        return reverse("conversation", args=[notification.conversation_id])
    if kind == Type.FOLLOW_REQUEST:
        return reverse("follow_requests")
    if kind == Type.MODERATION and notification.payload.get("action_id"):
        return reverse("moderation_action", args=[notification.payload["action_id"]])
    return reverse("profile", args=[notification.actor.username])


def notification_payload(notification: Notification) -> dict[str, Any]:
    """A notification as REST lists it and sockets, SSE and long-poll send it."""
    return {
        "id": str(notification.pk),
        "type": notification.type,
        "actor": _actor(notification.actor),
        "text": _text(notification.type, notification.actor.username, payload=notification.payload),
        "post_id": str(notification.post_id) if notification.post_id else None,
        "comment_id": str(notification.comment_id) if notification.comment_id else None,
        "conversation_id": str(notification.conversation_id) if notification.conversation_id else None,
        "excerpt": notification.payload.get("excerpt", ""),
        "url": target_url(notification),
        "group_key": notification.group_key,
        "read_status": notification.read_at is not None,
        "created_at": notification.created_at.isoformat(),
    }


def group_payload(group: Mapping[str, Any], samples: Sequence[Notification]) -> dict[str, Any]:
    """A grouped line: its newest notification, the sample of actors, and the counts."""
    latest = samples[0]
    actors: list[dict[str, Any]] = []
    for row in samples:
        if all(actor["id"] != str(row.actor_id) for actor in actors):
            actors.append(_actor(row.actor))
    others = max(group["actors"] - len(actors), 0)
    shown: list[str] = [actor["username"] for actor in actors]
    if others:
        shown.append(f"{others} other{'s' if others != 1 else ''}")
    names = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    verb = _VERBS.get(latest.type)
    if latest.type == Type.MESSAGE and group["count"] > 1:
        verb = f"sent you {group['count']} messages"
    return {
        "group_key": group["group_key"],
        "type": group["type"],
        "count": group["count"],
        "unread_count": group["unread"],
        "latest_at": group["latest_at"].isoformat(),
        "actors": actors,
        "text": _text(group["type"], names, verb, payload=latest.payload),
        "latest": notification_payload(latest),
    }


def newer_than(user: User, notification_id: object, *, limit: int = 100) -> list[Notification]:
    """The user's notifications after this one (ids grow with time), oldest first: for resume."""
    rows: QuerySet[Notification] = Notification.objects.visible_to(user).select_related("actor__profile")
    after = uuid_or_none(notification_id)
    if after is not None:
        rows = rows.filter(pk__gt=after)
    return list(rows.order_by("id")[:limit])


def latest_id(user: User) -> uuid.UUID | None:
    return Notification.objects.filter(recipient=user).order_by("-id").values_list("pk", flat=True).first()


def bells_of(user: User) -> QuerySet[Bell]:
    """The accounts whose bell the user turned on, with their profiles, newest bell first."""
    from notifications.models import Bell

    return (
        Bell.objects.filter(subscriber=user, author__is_active=True).select_related("author__profile").order_by("-id")
    )


def bell_on(user: User | AnonymousUser | None, author: User) -> bool:
    """Whether the user hears about every new post of `author`."""
    from notifications.models import Bell

    if user is None or not user.is_authenticated:
        return False
    return Bell.objects.filter(subscriber=user, author=author).exists()

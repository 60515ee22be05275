"""Writes for notifications: make them (tasks call notify), withdraw them, read them, preferences
and bells.

Producers never call these inside their own transaction: accounts, posts and messaging send
explicit signals, notifications.receivers turns each into a Celery task through the outbox, and
the task re-checks the state before it calls notify (tasks.py). The one exception is
message_window_open, which the message receiver calls inside the sender's transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Field, OuterRef, Q
from django.db.models.expressions import Combinable
from django.utils import timezone
from uuid6 import uuid7

from accounts.models import Block, Follow, Mute, User
from notifications import push
from notifications.models import Bell, MessageWindow, Notification, Preferences
from notifications.selectors import notification_payload, unread_count, unread_key
from socialsite import safe_cache
from socialsite.errors import ConflictError, NotFoundError, ServiceError
from socialsite.realtime import presence
from socialsite.realtime.events import send_event_on_commit

if TYPE_CHECKING:
    from messaging.models import Conversation
    from posts.models import Comment, Post

logger = logging.getLogger(__name__)

Type = Notification.Type

# Types whose rows read as one line per target and time bucket ("Ana and 12 others liked your
# post"); the others are one line each, since each asks for its own look (a reply, a request).
GROUPED: dict[str, str] = {
    Type.FOLLOW: "",
    Type.LIKE: "post",
    Type.COMMENT: "post",
    Type.SHARE: "post",
    Type.MESSAGE: "conversation",
}


def _group_key(kind: str, key: str, created_at: datetime, targets: Mapping[str, str | None]) -> str:
    if kind not in GROUPED:
        return f"{kind}:{key}"
    target = targets.get(GROUPED[kind]) or ""
    bucket = int(created_at.timestamp()) // settings.NOTIFICATION_GROUP_SECONDS
    return f"{kind}:{target}:{bucket}"


def _reachable(kind: str, actor_id: uuid.UUID, recipient_ids: Sequence[uuid.UUID | str]) -> list[uuid.UUID]:
    """The recipients who want this type and neither block nor mute the actor (nor are blocked)."""
    blocked = Block.objects.filter(
        Q(blocker=OuterRef("pk"), blocked_id=actor_id) | Q(blocker_id=actor_id, blocked=OuterRef("pk"))
    )
    muted = Mute.objects.filter(muter=OuterRef("pk"), muted_id=actor_id)
    unwanted: Q | Combinable = Exists(blocked) | Exists(muted)
    if kind in Preferences.SWITCHABLE:
        unwanted |= Exists(Preferences.objects.filter(user=OuterRef("pk"), **{kind: False}))
    return list(
        User.objects.filter(pk__in=recipient_ids, is_active=True)
        .exclude(pk=actor_id)
        .exclude(unwanted)
        .values_list("pk", flat=True)
    )


# A celebrity's post notifies its bell subscribers NOTIFICATION_BATCH at a time, and each batch is
# one notify call (bench_notifications, docs/performance.md). On PostgreSQL the filter and the
# insert are one statement over two arrays (the candidates and their new ids), so no 1,000-value
# IN list is built and quoted twice and no row is read back: RETURNING names the rows inserted.
# The user is looked up by a scalar subquery so that it stays 1,000 primary-key probes; as a
# join, the planner hashed the whole user table for every batch. Elsewhere (the embedded SQLite
# default) the ORM does the same in three statements. Both make the same rows: one per
# reachable recipient (`_reachable`'s rules), none for a (recipient, key) made before.
_INSERT_REACHABLE = """
    INSERT INTO {notification} (id, recipient_id, type, actor_id, post_id, comment_id, conversation_id,
                                payload, key, group_key, created_at)
    SELECT (%s || lpad(to_hex(c.n), 5, '0'))::uuid, c.recipient_id, %s, %s, %s, %s, %s, %s, %s, %s, %s
    FROM unnest(%s::uuid[]) WITH ORDINALITY AS c(recipient_id, n)
    WHERE c.recipient_id <> %s
      AND (SELECT u.is_active FROM {user} u WHERE u.id = c.recipient_id)
      AND NOT EXISTS (
          SELECT 1 FROM {block} b
          WHERE (b.blocker_id = c.recipient_id AND b.blocked_id = %s)
             OR (b.blocker_id = %s AND b.blocked_id = c.recipient_id)
      )
      AND NOT EXISTS (SELECT 1 FROM {mute} m WHERE m.muter_id = c.recipient_id AND m.muted_id = %s)
      {wanted}
    ORDER BY c.n
    ON CONFLICT DO NOTHING
    RETURNING id::text, recipient_id::text
"""
# Unless the type has no switch (Preferences.SWITCHABLE).
_WANTED = "AND NOT EXISTS (SELECT 1 FROM {preferences} p WHERE p.user_id = c.recipient_id AND p.{kind} = false)"


def _uuid_array(values: Iterable[str]) -> str:
    """A PostgreSQL array literal of UUIDs (as text): half the time of letting the driver quote a list."""
    return "{" + ",".join(values) + "}"


def _insert_reachable(
    kind: str, actor_id: uuid.UUID, recipient_ids: Iterable[uuid.UUID | str], values: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """PostgreSQL: one row of `values` (column → value) for each reachable recipient, in one
    statement. -> [(id, recipient_id)] of the rows it inserted, as text."""
    # Ids stay text both ways (a task's arrive as text): PostgreSQL parses and checks them.
    candidates = list(dict.fromkeys(map(str, recipient_ids)))
    if not candidates:
        return []
    if len(candidates) > 0xFFFFF:
        raise ValueError("at most 1,048,575 recipients per call: the last 20 bits of an id number them")
    wanted = ""  # a type nobody can turn off
    if kind in Preferences.SWITCHABLE:
        wanted = _WANTED.format(
            preferences=Preferences._meta.db_table, kind=cast(Field, Preferences._meta.get_field(kind)).column
        )
    sql = _INSERT_REACHABLE.format(
        notification=Notification._meta.db_table,
        user=User._meta.db_table,
        block=Block._meta.db_table,
        mute=Mute._meta.db_table,
        wanted=wanted,
    )
    payload = Notification._meta.get_field("payload").get_db_prep_save(values["payload"], connection)
    # Ids are one uuid7 with its last 20 (random) bits replaced by the row's place: in order,
    # unique, and not made one by one in Python.
    params = [
        uuid7().hex[:27],
        kind,
        actor_id,
        values["post_id"],
        values["comment_id"],
        values["conversation_id"],
        payload,
    ]
    params += [values["key"], values["group_key"], values["created_at"]]
    params += [_uuid_array(candidates)]
    params += [actor_id] * 4
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted: list[tuple[str, str]] = cursor.fetchall()
        return inserted


def _rows_from(
    inserted: Iterable[tuple[uuid.UUID | str, uuid.UUID | str]], values: Mapping[str, Any], related: Mapping[str, Any]
) -> list[Notification]:
    """Notification objects for the rows `_insert_reachable` inserted, as bulk_create leaves its own:
    saved, their actor and targets (`related`, field name → object or None) at hand."""
    fields = {name: value for name, value in values.items() if name.removesuffix("_id") not in related}
    rows: list[Notification] = []
    for pk, recipient_id in inserted:
        row = Notification(id=uuid.UUID(str(pk)), recipient_id=uuid.UUID(str(recipient_id)), **related, **fields)
        row._state.adding, row._state.db = False, connection.alias
        rows.append(row)
    return rows


def forget_unread(user_ids: Iterable[uuid.UUID | str]) -> None:
    """The cached header count of these users is wrong after this transaction: drop it."""
    safe_cache.forget(unread_key(user_id) for user_id in set(map(str, user_ids)))


@transaction.atomic
def notify(
    *,
    kind: str,
    actor: User,
    recipient_ids: Iterable[uuid.UUID | str],
    key: str,
    post: Post | None = None,
    comment: Comment | None = None,
    conversation: Conversation | None = None,
    payload: dict[str, Any] | None = None,
) -> int:
    """Tell these users about one event, each at most once (per `key`). -> how many were made.

    Rows go in with one bulk insert that skips the (recipient, key) pairs made before, so a
    retried task or a repeated action adds nothing. `notification.new` goes to those with a
    socket open, after commit.
    """
    if kind not in Type.values:
        raise ValueError(f"unknown notification type {kind!r}")
    now = timezone.now()
    targets = {
        "post": str(post.pk) if post else None,
        "comment": str(comment.pk) if comment else None,
        "conversation": str(conversation.pk) if conversation else None,
    }
    values: dict[str, Any] = {
        "type": kind,
        "actor_id": actor.pk,
        "post_id": post.pk if post else None,
        "comment_id": comment.pk if comment else None,
        "conversation_id": conversation.pk if conversation else None,
        "payload": payload or {},
        "key": key,
        "group_key": _group_key(kind, key, now, targets),
        "read_at": None,
        "created_at": now,
    }
    inserted: Sequence[tuple[uuid.UUID | str, uuid.UUID | str]]
    if connection.vendor == "postgresql":
        inserted = _insert_reachable(kind, actor.pk, recipient_ids, values)
    else:
        rows = [
            Notification(recipient_id=recipient_id, **values)
            for recipient_id in _reachable(kind, actor.pk, list(recipient_ids))
        ]
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        # The ids are made here, so the rows found by id are the ones this call inserted.
        kept = set(Notification.objects.filter(pk__in=[row.pk for row in rows]).values_list("pk", flat=True))
        inserted = [(row.pk, row.recipient_id) for row in rows if row.pk in kept]
    forget_unread(recipient_id for _, recipient_id in inserted)
    push.queue(inserted)
    # Only those listening get the event (a few of a celebrity's thousands), so only their rows
    # are built as objects.
    online = set(presence.online_among([str(recipient_id) for _, recipient_id in inserted]))
    listening = [(pk, recipient_id) for pk, recipient_id in inserted if str(recipient_id) in online]
    related = {"actor": actor, "post": post, "comment": comment, "conversation": conversation}
    for row in _rows_from(listening, values, related):
        send_event_on_commit([row.recipient_id], "notification.new", notification_payload(row))
    return len(inserted)


@transaction.atomic
def withdraw(*, key: str, recipient_ids: Iterable[uuid.UUID | str]) -> int:
    """Take back what an undone action notified (unlike, unfollow, a withdrawn request)."""
    gone = list(
        Notification.objects.filter(key=key, recipient_id__in=list(recipient_ids)).values_list("pk", "recipient_id")
    )
    if not gone:
        return 0
    Notification.objects.filter(pk__in=[pk for pk, _ in gone]).delete()
    forget_unread(recipient_id for _, recipient_id in gone)
    # One count per recipient, not per withdrawn row.
    unread = {user.pk: unread_count(user) for user in User.objects.filter(pk__in={r for _, r in gone})}
    for pk, recipient_id in gone:
        send_event_on_commit(
            [recipient_id], "notification.deleted", {"id": str(pk), "unread_count": unread[recipient_id]}
        )
    return len(gone)


@transaction.atomic
def withdraw_like(*, user_id: uuid.UUID, post_id: uuid.UUID) -> int:
    """An unlike, after it committed. A like notification being made at that moment held the like
    row (on_like), so the unlike waited for it, and this finds it."""
    from posts.models import Post

    author_id = Post.objects.filter(pk=post_id).values_list("author_id", flat=True).first()
    if author_id is None:
        return 0
    return withdraw(key=f"like:{post_id}:{user_id}", recipient_ids=[author_id])


@transaction.atomic
def forget_between(*, user_id: uuid.UUID, other_id: uuid.UUID) -> None:
    """After a block: neither side keeps notifications from the other."""
    Notification.objects.filter(
        Q(recipient_id=user_id, actor_id=other_id) | Q(recipient_id=other_id, actor_id=user_id)
    ).delete()
    forget_unread([user_id, other_id])
    Bell.objects.filter(
        Q(subscriber_id=user_id, author_id=other_id) | Q(subscriber_id=other_id, author_id=user_id)
    ).delete()


# --- Reading ----------------------------------------------------------------------------------------


def _read_event(user: User, ids: list[str] | None) -> None:
    send_event_on_commit([user.pk], "notification.read", {"ids": ids, "unread_count": unread_count(user)})


@transaction.atomic
def mark_read(*, user: User, notification_id: uuid.UUID) -> Notification:
    """Mark one of the user's notifications read; someone else's is not found. Idempotent."""
    notification = (
        Notification.objects.visible_to(user).select_for_update(of=("self",)).filter(pk=notification_id).first()
    )
    if notification is None:
        raise NotFoundError("No such notification.", code="notification_not_found")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
        forget_unread([user.pk])
        _read_event(user, [str(notification.pk)])
    return notification


@transaction.atomic
def mark_all_read(*, user: User, group_key: str | None = None) -> int:
    """Mark every unread notification read, or those of one group. -> how many changed."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    ids = None  # all of them
    if group_key is not None:
        unread = unread.filter(group_key=group_key)
        ids = [str(pk) for pk in unread.values_list("pk", flat=True)]
    changed = unread.update(read_at=timezone.now())
    if changed:
        forget_unread([user.pk])
        _read_event(user, ids)
    return changed


# --- Preferences and bells -------------------------------------------------------------------------


def preferences_for(user: User) -> Preferences:
    return Preferences.objects.filter(user=user).first() or Preferences(user=user)


@transaction.atomic
def preferences_update(*, user: User, changes: object) -> Preferences:
    """Turn types on or off: {"like": false, ...}; {} changes nothing. Unknown types and
    non-booleans are refused."""
    if not isinstance(changes, dict):
        raise ServiceError("Send an object of type → true/false.", code="invalid")
    unknown = sorted(set(changes) - set(Preferences.SWITCHABLE))
    bad = sorted(name for name, value in changes.items() if name not in unknown and not isinstance(value, bool))
    if unknown or bad:
        fields = {name: ["Unknown notification type."] for name in unknown}
        fields.update({name: ["Must be true or false."] for name in bad})
        raise ServiceError("Some preferences are not valid.", code="invalid", fields=fields)
    preferences, _ = Preferences.objects.select_for_update().get_or_create(user=user)
    for name, value in changes.items():
        setattr(preferences, name, value)
    preferences.save()
    return preferences


@transaction.atomic
def bell_set(*, user: User, author_id: uuid.UUID | str, on: bool) -> bool:
    """Turn the bell on a follow on or off. Only on someone the user follows. Idempotent."""
    author = User.objects.filter(pk=author_id, is_active=True).first()
    if author is None:
        raise NotFoundError("No such user.")
    if not on:
        Bell.objects.filter(subscriber=user, author=author).delete()
        return False
    if author.pk == user.pk:
        raise ServiceError("You can't ring your own bell.", code="self_bell")
    if not Follow.objects.filter(follower=user, followed=author).exists():
        raise ConflictError("Follow this account first, then turn its bell on.", code="not_following")
    Bell.objects.get_or_create(subscriber=user, author=author)
    return True


@transaction.atomic
def bells_drop(*, subscriber_id: uuid.UUID, author_id: uuid.UUID) -> None:
    """An unfollow ends the bell."""
    Bell.objects.filter(subscriber_id=subscriber_id, author_id=author_id).delete()


# --- Producers: what each action notifies (called by tasks, after the action committed) ------------
#
# Each re-reads the state first: an action undone before its task ran notifies nobody.


def _excerpt(text: str | None, limit: int = 140) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _post_excerpt(post: Post) -> str:
    """A post's excerpt: its content warning when it has one, never the words behind it."""
    return _excerpt(f"CW: {post.spoiler_text}") if post.spoiler_text else _excerpt(post.content)


def _user(user_id: uuid.UUID) -> User | None:
    return User.objects.select_related("profile").filter(pk=user_id, is_active=True).first()


def on_follow(*, follower_id: uuid.UUID, followed_id: uuid.UUID, via_request: bool = False) -> int:
    """A follow: "followed you" to the followed, or "accepted your request" to the follower."""
    if not Follow.objects.filter(follower_id=follower_id, followed_id=followed_id).exists():
        return 0
    if via_request:
        actor = _user(followed_id)
        kind, recipient_id, key = Type.FOLLOW_ACCEPTED, follower_id, f"follow_accepted:{followed_id}"
    else:
        actor = _user(follower_id)
        kind, recipient_id, key = Type.FOLLOW, followed_id, f"follow:{follower_id}"
    if actor is None:
        return 0
    return notify(kind=kind, actor=actor, recipient_ids=[recipient_id], key=key)


def on_follow_request(*, requester_id: uuid.UUID, target_id: uuid.UUID) -> int:
    from accounts.models import FollowRequest

    if not FollowRequest.objects.filter(requester_id=requester_id, target_id=target_id).exists():
        return 0
    actor = _user(requester_id)
    if actor is None:
        return 0
    return notify(
        kind=Type.FOLLOW_REQUEST, actor=actor, recipient_ids=[target_id], key=f"follow_request:{requester_id}"
    )


@transaction.atomic
def on_like(*, user_id: uuid.UUID, post_id: uuid.UUID) -> int:
    """A like, to the post's author. The like row stays locked until the notification is in, so
    an unlike either comes first (nothing is made) or waits and then withdraws it."""
    from posts.models import Like

    like = Like.objects.select_for_update().select_related("post").filter(user_id=user_id, post_id=post_id).first()
    actor = _user(user_id)
    if like is None or actor is None or not _sees(like.post.author_id, like.post):
        return 0
    return notify(
        kind=Type.LIKE,
        actor=actor,
        recipient_ids=[like.post.author_id],
        key=f"like:{post_id}:{user_id}",
        post=like.post,
    )


def _sees(user_id: uuid.UUID | str, post: Post) -> bool:
    from posts.models import Post

    user = User.objects.filter(pk=user_id, is_active=True).first()
    return user is not None and Post.objects.visible_to(user).filter(pk=post.pk).exists()


def on_comment(*, comment_id: uuid.UUID, mentioned_ids: Iterable[uuid.UUID | str] = ()) -> int:
    """A comment: "commented" to the post's author, "replied" to the parent's author, and
    "mentioned you" to those it @mentions who may see the post. One line each at most."""
    from posts.models import Comment

    comment = (
        Comment.objects.select_related("post", "parent", "author__profile")
        .filter(pk=comment_id, deleted_at__isnull=True, hidden_at__isnull=True)
        .first()
    )
    if comment is None or not comment.author.is_active:
        return 0
    post, actor, made, told = comment.post, comment.author, 0, {comment.author_id}
    excerpt = {"excerpt": _excerpt(comment.content)}
    common: dict[str, Any] = {"actor": actor, "post": post, "comment": comment, "payload": excerpt}
    if comment.parent is not None and comment.parent.author_id not in told and _sees(comment.parent.author_id, post):
        made += notify(kind=Type.REPLY, recipient_ids=[comment.parent.author_id], key=f"reply:{comment.pk}", **common)
        told.add(comment.parent.author_id)
    if post.author_id not in told:
        made += notify(kind=Type.COMMENT, recipient_ids=[post.author_id], key=f"comment:{comment.pk}", **common)
        told.add(post.author_id)
    for user_id in mentioned_ids:
        if str(user_id) not in {str(pk) for pk in told} and _sees(user_id, post):
            made += notify(kind=Type.MENTION, recipient_ids=[user_id], key=f"mention:comment:{comment.pk}", **common)
    return made


def on_post_published(*, post_id: uuid.UUID) -> Iterator[list[str]]:
    """A post became visible: "shared your post" to the original's author, "mentioned you" to
    those named in it, and the bell subscribers' "posted" in batches. -> the bell subscriber
    id batches, an iterator, for tasks.on_new_post_batch."""
    from posts.models import Post, PostTag

    post = Post.objects.select_related("author__profile", "shared_post").filter(pk=post_id).first()
    if post is None or post.status != Post.Status.PUBLISHED or post.deleted_at or post.hidden_at:
        return iter(())
    actor = post.author
    if not actor.is_active:
        return iter(())
    excerpt = {"excerpt": _post_excerpt(post)}
    original = post.shared_post
    if original is not None and original.author_id != actor.pk and _sees(original.author_id, original):
        notify(kind=Type.SHARE, actor=actor, recipient_ids=[original.author_id], key=f"share:{post.pk}", post=original)
    for user_id in PostTag.objects.filter(post=post).values_list("user_id", flat=True):
        if _sees(user_id, post):
            notify(
                kind=Type.MENTION,
                actor=actor,
                recipient_ids=[user_id],
                key=f"mention:post:{post.pk}",
                post=post,
                payload=excerpt,
            )
    if post.visibility == Post.Visibility.MENTIONED:  # those named were just told
        return iter(())
    return _bell_batches(actor)


def _bell_batches(author: User) -> Iterator[list[str]]:
    """The author's bell subscribers who still follow, NOTIFICATION_BATCH ids at a time. The first
    batch is read alone, so its task starts while the plan reads on, ten batches a query.

    Bells end with the follow (an unfollow or a block drops them), and this checks the follow
    too, so the batches needn't look again."""
    following = Follow.objects.filter(follower=OuterRef("subscriber"), followed=author)
    bells = Bell.objects.filter(author=author).filter(Exists(following)).order_by("id")
    batch, after, size = settings.NOTIFICATION_BATCH, 0, settings.NOTIFICATION_BATCH
    while True:
        page = list(bells.filter(id__gt=after).values_list("id", "subscriber_id")[:size])
        for start in range(0, len(page), batch):
            yield [str(subscriber_id) for _, subscriber_id in page[start : start + batch]]
        if len(page) < size:
            return
        after, size = page[-1][0], batch * 10


def on_new_post_batch(*, post_id: uuid.UUID, subscriber_ids: Iterable[uuid.UUID | str]) -> int:
    """ "Posted" to one batch of the author's bell subscribers (followers when the plan was made),
    if the post is still up."""
    from posts.models import Post

    post = Post.objects.select_related("author__profile").filter(pk=post_id).first()
    if post is None or post.status != Post.Status.PUBLISHED or post.deleted_at or post.hidden_at:
        return 0
    return notify(
        kind=Type.NEW_POST,
        actor=post.author,
        recipient_ids=subscriber_ids,
        key=f"new_post:{post.pk}",
        post=post,
        payload={"excerpt": _post_excerpt(post)},
    )


@transaction.atomic
def on_post_failed(*, post_id: uuid.UUID) -> int:
    """Tell the author that their post won't be published (a photo or video failed), with why.

    Not through notify(): nobody else did anything, so the author is both actor and recipient."""
    from media.models import Media
    from posts.models import Post

    post = (
        Post.objects.select_related("author__profile")
        .filter(pk=post_id, status=Post.Status.FAILED, deleted_at__isnull=True, author__is_active=True)
        .first()
    )
    if post is None or Preferences.objects.filter(user_id=post.author_id, post_failed=False).exists():
        return 0
    reason = post.media.filter(status=Media.Status.FAILED).values_list("error", flat=True).first() or ""
    key = f"post_failed:{post.pk}"
    row, made = Notification.objects.get_or_create(
        recipient_id=post.author_id,
        key=key,
        defaults={
            "type": Type.POST_FAILED,
            "actor": post.author,
            "post": post,
            "payload": {"excerpt": reason},
            "group_key": _group_key(Type.POST_FAILED, key, timezone.now(), {}),
            "created_at": timezone.now(),
        },
    )
    if made:
        forget_unread([row.recipient_id])
        push.queue([(row.pk, row.recipient_id)])
        send_event_on_commit([post.author_id], "notification.new", notification_payload(row))
    return int(made)


def _moderation_notice(*, recipient: User, key: str, payload: dict[str, Any]) -> int:
    """One MODERATION notification to the person a moderator acted on (actor: themselves, as for
    post_failed; the moderator stays unnamed). No post or comment on the row: a hidden one would
    hide the notice too (Notification.visible_to); the payload says what and why, and the line links
    to the action's page with the appeal form. Not for a suspended account: its suspended page says it."""
    if not recipient.is_active:
        return 0
    now = timezone.now()
    row, made = Notification.objects.get_or_create(
        recipient_id=recipient.pk,
        key=key,
        defaults={
            "type": Type.MODERATION,
            "actor": recipient,
            "payload": payload,
            "group_key": _group_key(Type.MODERATION, key, now, {}),
            "created_at": now,
        },
    )
    if made:
        forget_unread([row.recipient_id])
        push.queue([(row.pk, row.recipient_id)])
        send_event_on_commit([recipient.pk], "notification.new", notification_payload(row))
    return int(made)


@transaction.atomic
def on_moderation(*, action_id: int) -> int:
    """A moderator warned this account or hid or removed its post or comment: tell it what and why."""
    from posts.models import ModerationAction

    action = ModerationAction.objects.select_related("user__profile").filter(pk=action_id).first()
    if action is None or action.user is None or action.action not in ModerationAction.APPEALABLE:
        return 0
    payload = {
        "what": action.action,
        "target": action.target_type,
        "excerpt": action.reason,
        "action_id": str(action.pk),
    }
    return _moderation_notice(recipient=action.user, key=f"moderation:{action.pk}", payload=payload)


@transaction.atomic
def on_appeal_decided(*, appeal_id: uuid.UUID) -> int:
    """Tell the appellant how their appeal ended, with the moderator's reason."""
    from posts.models import Appeal

    appeal = (
        Appeal.objects.select_related("appellant__profile", "action", "decision")
        .filter(pk=appeal_id)
        .exclude(status=Appeal.Status.OPEN)
        .first()
    )
    if appeal is None:
        return 0
    payload = {
        "what": f"appeal_{appeal.status}",
        "target": appeal.action.target_type,
        "excerpt": appeal.decision.reason if appeal.decision else "",
        "action_id": str(appeal.action_id),
    }
    return _moderation_notice(recipient=appeal.appellant, key=f"appeal:{appeal.pk}", payload=payload)


def message_window_open(*, conversation_id: uuid.UUID) -> bool:
    """Whether a message in this conversation notifies: the first after NOTIFICATION_MESSAGE_SECONDS
    of quiet does, and opens a new window. One upsert, in the message's transaction."""
    window = settings.NOTIFICATION_MESSAGE_SECONDS
    if window <= 0:
        return True
    now = timezone.now()
    meta = MessageWindow._meta
    key, until = meta.get_field("conversation_id"), meta.get_field("until")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {meta.db_table} (conversation_id, until) VALUES (%s, %s)
                ON CONFLICT (conversation_id) DO UPDATE SET until = excluded.until WHERE {meta.db_table}.until <= %s
                RETURNING 1""",  # noqa: S608 -- the table name comes from _meta
            [
                key.get_db_prep_value(uuid.UUID(str(conversation_id)), connection),
                until.get_db_prep_value(now + timedelta(seconds=window), connection),
                until.get_db_prep_value(now, connection),
            ],
        )
        return cursor.fetchone() is not None


def on_message(*, message_id: uuid.UUID) -> int:
    """A message, to the members who were in the conversation then and aren't looking at it."""
    from messaging import viewing
    from messaging.models import Membership, Message

    message = (
        Message.objects.select_related("sender__profile", "conversation")
        .filter(pk=message_id, deleted_at__isnull=True, kind=Message.Kind.TEXT)
        .first()
    )
    if message is None or not message.sender.is_active:
        return 0
    members = Membership.objects.filter(
        conversation_id=message.conversation_id, left_at__isnull=True, joined_seq__lt=message.seq
    ).exclude(user_id=message.sender_id)
    recipients = [
        user_id
        for user_id in members.values_list("user_id", flat=True)
        if not viewing.is_viewing(user_id, message.conversation_id)
    ]
    return notify(
        kind=Type.MESSAGE,
        actor=message.sender,
        recipient_ids=recipients,
        key=f"message:{message.pk}",
        conversation=message.conversation,
    )


def on_group_membership(*, message_id: uuid.UUID) -> int:
    """A group's "added" or "removed" line (messaging.signals.group_membership_changed): the members
    it added and are still in the group get GROUP_ADDED, the member it removed who is still out
    gets GROUP_REMOVED. Once per line and member (the key), so a retried task adds nothing."""
    from messaging.models import Membership, Message

    message = (
        Message.objects.select_related("sender__profile", "conversation")
        .filter(pk=message_id, kind__in=[Message.Kind.ADDED, Message.Kind.REMOVED])
        .first()
    )
    if message is None or not message.sender.is_active:
        return 0
    members = Membership.objects.filter(
        conversation_id=message.conversation_id, user_id__in=message.system.get("target_ids", [])
    )
    if message.kind == Message.Kind.ADDED:
        kind = Type.GROUP_ADDED
        members = members.filter(left_at__isnull=True, joined_seq__lt=message.seq)
    else:  # not added back since
        kind = Type.GROUP_REMOVED
        members = members.filter(removed=True, left_seq=message.seq)
    return notify(
        kind=kind,
        actor=message.sender,
        recipient_ids=list(members.values_list("user_id", flat=True)),
        key=f"{kind}:{message.pk}",
        conversation=message.conversation,
        payload={"excerpt": message.conversation.title},
    )

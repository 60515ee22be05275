"""Writes for direct messages. Each runs in one transaction; events go to sockets after commit.

Who may talk to whom: only members read or post in a conversation; two users who block each
other (either way) can't start or use a 1:1, and can't add each other to a group. A first
message from someone the recipient doesn't follow lands in the recipient's requests folder when
the recipient accepts messages only from people they follow; replying or accepting moves it to
the inbox.

Message content is never logged: log lines name ids only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Field, Model, Q, Subquery
from django.utils import timezone

from accounts.models import Block, Follow, Mute, User
from accounts.selectors import blocked_between
from messaging.models import REACTION_EMOJI, Conversation, Membership, Message, MessageReport, Preferences, Reaction
from messaging.selectors import (
    membership_for,
    reaction_summary,
    reply_summary,
    system_ids,
    unread_key,
    with_reactions,
)
from messaging.signals import group_membership_changed, message_sent
from socialsite import metrics, ratelimit, safe_cache
from socialsite.errors import ConflictError, ForbiddenError, NotFoundError, ServiceError
from socialsite.params import parse_uuid
from socialsite.realtime.events import send_event_on_commit

logger = logging.getLogger(__name__)

TYPING_EXPIRES_SECONDS = 6  # a client shows "typing…" this long unless renewed
TYPING_MIN_INTERVAL_SECONDS = 2  # typing.start more often than this is dropped


def _active_user(user_id: uuid.UUID | str, *, viewer: User) -> User:
    user = User.objects.visible_to(viewer).filter(pk=parse_uuid(user_id, "No such user.")).first()
    if user is None:
        raise NotFoundError("No such user.", code="user_not_found")
    return user


def _folder_for(recipient_id: uuid.UUID, sender_id: uuid.UUID) -> Membership.Folder:
    """Inbox, unless the recipient takes messages only from people they follow and not this sender."""
    prefers = Preferences.objects.filter(user_id=recipient_id).values_list("direct_from", flat=True).first()
    if (
        prefers == Preferences.DirectFrom.FOLLOWING
        and not Follow.objects.filter(follower_id=recipient_id, followed_id=sender_id).exists()
    ):
        return Membership.Folder.REQUESTS
    return Membership.Folder.INBOX


def forget_unread(user_ids: Iterable[uuid.UUID | str]) -> None:
    """The cached nav badge of these users is wrong after this transaction: drop it."""
    safe_cache.forget(unread_key(user_id) for user_id in set(map(str, user_ids)))


def _lock_conversation(conversation_id: uuid.UUID) -> Conversation:
    return Conversation.objects.select_for_update().get(pk=conversation_id)


def _member_ids(conversation_id: uuid.UUID) -> list[str]:
    return [
        str(pk)
        for pk in Membership.objects.filter(conversation_id=conversation_id, left_at__isnull=True).values_list(
            "user_id", flat=True
        )
    ]


def _conversation_event(conversation: Conversation, event: str, extra: dict[str, Any] | None = None) -> None:
    """conversation.new / conversation.updated to its members: they refetch it over REST."""
    data = {"conversation_id": str(conversation.pk), **(extra or {})}
    send_event_on_commit(_member_ids(conversation.pk), event, data)


def message_payload(message: Message, *, status: str = "sent", for_sender: bool = False) -> dict[str, Any]:
    """What sockets receive in message.new (the REST payload, as the message was created).
    Only the sender's own devices see its client_id, as over REST. Its reactions are read unless
    already loaded (selectors.with_reactions)."""
    sender = message.sender
    if not hasattr(message, "reaction_rows"):
        with_reactions([message])
    return {
        "id": str(message.pk),
        "conversation_id": str(message.conversation_id),
        "seq": message.seq,
        "sender_id": str(message.sender_id),
        "sender": {
            "id": str(sender.pk),
            "username": sender.username,
            "display_name": sender.profile.name,
        },
        "kind": message.kind,
        "system": system_ids(message),
        "content": "" if message.deleted_at else message.content,
        "client_id": (message.client_id or None) if for_sender else None,
        "created_at": message.created_at.isoformat(),
        "edited": message.edited_at is not None,
        "deleted": message.deleted_at is not None,
        "status": status,
        "read_by": [],
        "reactions": reaction_summary(message),
        "reply_to": reply_summary(message),
    }


# --- System lines ---------------------------------------------------------------------------------


def _names(users: Sequence[User]) -> str:
    names: list[str] = [user.profile.name for user in users]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _system_text(kind: str, actor: User, targets: Sequence[User], title: str | None) -> str:
    actor_name = actor.profile.name
    if kind == Message.Kind.RENAMED:
        return f"{actor_name} renamed the group to “{title}”" if title else f"{actor_name} removed the group name"
    if kind == Message.Kind.ADDED:
        return f"{actor_name} added {_names(targets)}"
    if kind == Message.Kind.REMOVED:
        return f"{actor_name} removed {_names(targets)}"
    if kind == Message.Kind.LEFT:
        return f"{actor_name} left"
    return f"{_names(targets)} is now an admin"


def _system_line(
    conversation: Conversation,
    *,
    actor: User,
    kind: str,
    recipients: Iterable[uuid.UUID | str],
    targets: Sequence[User] = (),
    title: str | None = None,
) -> Message:
    """A system line as the conversation's next message (`conversation` locked by the caller):
    `recipients` (user ids) get it in message.new after commit, like any message. It moves the
    inbox order of the current members, but adds to nobody's unread count, moves nobody's read
    cursor and sends no message_sent (no message notification)."""
    seq = conversation.last_seq + 1
    system: dict[str, Any] = {"actor_id": str(actor.pk), "target_ids": [str(user.pk) for user in targets]}
    if kind == Message.Kind.RENAMED:
        system["title"] = title
    message = Message.objects.create(
        conversation=conversation,
        seq=seq,
        sender=actor,
        kind=kind,
        system=system,
        content=_system_text(kind, actor, targets, title),
    )
    message.reaction_rows = []
    conversation.last_seq, conversation.last_message = seq, message
    conversation.save(update_fields=["last_seq", "last_message"])
    Membership.objects.filter(conversation=conversation, left_at__isnull=True).update(
        last_message_at=message.created_at
    )
    send_event_on_commit(recipients, "message.new", message_payload(message))
    return message


# --- Conversations --------------------------------------------------------------------------------


def _direct_key(a: uuid.UUID, b: uuid.UUID) -> str:
    low, high = sorted([str(a), str(b)])
    return f"{low}:{high}"


def _direct_get_or_create(user: User, other: User) -> tuple[Conversation, bool]:
    key = _direct_key(user.pk, other.pk)
    conversation = Conversation.objects.filter(direct_key=key).first()
    if conversation is not None:
        return conversation, False
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(kind=Conversation.Kind.DIRECT, direct_key=key, created_by=user)
            Membership.objects.bulk_create(
                [
                    Membership(conversation=conversation, user=user),
                    Membership(conversation=conversation, user=other, folder=_folder_for(other.pk, user.pk)),
                ]
            )
    except IntegrityError:  # the other side created it at the same moment
        return Conversation.objects.get(direct_key=key), False
    return conversation, True


@transaction.atomic
def conversation_direct(*, user: User, other_user_id: uuid.UUID | str) -> Membership:
    """The 1:1 conversation with another user, made on first use."""
    other = _active_user(other_user_id, viewer=user)
    if other.pk == user.pk:
        raise ServiceError("You can't message yourself.", code="self_message")
    if blocked_between(user.pk, other.pk):
        raise ForbiddenError("You can't message this account.", code="blocked")
    conversation, created = _direct_get_or_create(user, other)
    membership = Membership.objects.get(conversation=conversation, user=user)
    if created:
        _conversation_event(conversation, "conversation.new")
    return membership


def _check_group_members(creator: User, users: Iterable[User]) -> None:
    for other in users:
        if other.pk == creator.pk:
            continue
        if blocked_between(creator.pk, other.pk):
            raise ForbiddenError(
                f"You can't add {other.username}.", code="blocked", fields={"member_ids": ["Blocked."]}
            )


def _users(ids: Iterable[uuid.UUID | str], *, viewer: User) -> list[User]:
    try:
        wanted = {parse_uuid(pk) for pk in ids}
    except NotFoundError:
        raise ServiceError("Unknown user ids.", code="invalid", fields={"member_ids": ["Not a user id."]})
    users = list(User.objects.visible_to(viewer).filter(pk__in=wanted).select_related("profile"))
    if len(users) != len(wanted):
        raise ServiceError("Some of these users don't exist.", code="invalid", fields={"member_ids": ["Unknown user."]})
    return users


def _clean_title(title: str | None) -> str:
    title = (title or "").strip()
    if len(title) > 100:
        raise ServiceError("Titles are at most 100 characters.", code="invalid", fields={"title": ["Too long."]})
    return title


@transaction.atomic
def conversation_group_create(*, creator: User, title: str | None, member_ids: Iterable[uuid.UUID | str]) -> Membership:
    """A group of the creator (its admin) and these users."""
    title = _clean_title(title)
    users = [u for u in _users(member_ids, viewer=creator) if u.pk != creator.pk]
    if not users:
        raise ServiceError("Add at least one other member.", code="invalid", fields={"member_ids": ["Empty."]})
    if len(users) + 1 > settings.MESSAGE_GROUP_MAX_MEMBERS:
        raise ServiceError(
            f"A group has at most {settings.MESSAGE_GROUP_MAX_MEMBERS} members.",
            code="invalid",
            fields={"member_ids": ["Too many."]},
        )
    _check_group_members(creator, users)
    conversation = Conversation.objects.create(kind=Conversation.Kind.GROUP, title=title, created_by=creator)
    Membership.objects.bulk_create(
        [Membership(conversation=conversation, user=creator, role=Membership.Role.ADMIN)]
        + [Membership(conversation=conversation, user=u, folder=_folder_for(u.pk, creator.pk)) for u in users]
    )
    _conversation_event(conversation, "conversation.new")
    return Membership.objects.select_related("conversation").get(conversation=conversation, user=creator)


def _lock_as_member(user: User, conversation_id: uuid.UUID | str) -> Membership:
    """Lock the conversation, then the user's membership: the order sending takes them in."""
    conversation_id = membership_for(user, conversation_id).conversation_id  # 404 for non-members
    conversation = _lock_conversation(conversation_id)
    membership = membership_for(user, conversation_id, lock=True)
    membership.conversation = conversation
    return membership


def _group_admin(actor: User, conversation_id: uuid.UUID | str) -> Membership:
    membership = _lock_as_member(actor, conversation_id)
    if membership.conversation.kind != Conversation.Kind.GROUP:
        raise ServiceError("Only group conversations have members to manage.", code="not_a_group")
    if membership.role != Membership.Role.ADMIN:
        raise ForbiddenError("Only the group's admins can do this.", code="not_admin")
    return membership


@transaction.atomic
def conversation_rename(*, actor: User, conversation_id: uuid.UUID | str, title: str | None = None) -> Membership:
    membership = _group_admin(actor, conversation_id)
    conversation = membership.conversation
    title = conversation.title if title is None else _clean_title(title)
    if title == conversation.title:
        return membership  # nothing changed: no line
    conversation.title = title
    conversation.save(update_fields=["title"])
    _system_line(
        conversation, actor=actor, kind=Message.Kind.RENAMED, recipients=_member_ids(conversation.pk), title=title
    )
    _conversation_event(conversation, "conversation.updated")
    return membership


@transaction.atomic
def members_add(*, actor: User, conversation_id: uuid.UUID | str, user_ids: Sequence[uuid.UUID | str]) -> Membership:
    membership = _group_admin(actor, conversation_id)
    conversation = membership.conversation
    users = _users(user_ids, viewer=actor)
    _check_group_members(actor, users)
    existing = {m.user_id: m for m in Membership.objects.filter(conversation=conversation, user__in=users)}
    joining = [u for u in users if u.pk not in existing or not existing[u.pk].active]
    named = {parse_uuid(pk): place for place, pk in reversed(list(enumerate(user_ids)))}
    joining.sort(key=lambda u: named[u.pk])  # the line names them in the order they were given
    active = Membership.objects.filter(conversation=conversation, left_at__isnull=True).count()
    if active + len(joining) > settings.MESSAGE_GROUP_MAX_MEMBERS:
        raise ServiceError(
            f"A group has at most {settings.MESSAGE_GROUP_MAX_MEMBERS} members.",
            code="invalid",
            fields={"user_ids": ["Too many."]},
        )
    if not joining:
        return membership  # all of them are members already: no line, nobody told
    now = timezone.now()
    for user in joining:
        fields: dict[str, Any] = {
            "role": Membership.Role.MEMBER,
            "folder": _folder_for(user.pk, actor.pk),
            # History before joining stays private; the line saying they were added is theirs.
            "joined_seq": conversation.last_seq,
            "delivered_seq": conversation.last_seq + 1,
            "read_seq": conversation.last_seq + 1,
            "unread_count": 0,
            "left_at": None,
            "left_seq": None,
            "removed": False,
            "last_message_at": now,
        }
        Membership.objects.update_or_create(conversation=conversation, user=user, defaults=fields)
    forget_unread(u.pk for u in joining)
    line = _system_line(
        conversation, actor=actor, kind=Message.Kind.ADDED, recipients=_member_ids(conversation.pk), targets=joining
    )
    _conversation_event(conversation, "conversation.updated")
    send_event_on_commit([u.pk for u in joining], "conversation.new", {"conversation_id": str(conversation.pk)})
    group_membership_changed.send(sender=Message, message=line)
    return membership


@transaction.atomic
def member_remove(*, actor: User, conversation_id: uuid.UUID | str, user_id: uuid.UUID | str) -> None:
    """Remove a member (admins), or leave (anyone, naming themselves)."""
    actor_membership = _lock_as_member(actor, conversation_id)
    conversation = actor_membership.conversation
    if conversation.kind != Conversation.Kind.GROUP:
        raise ServiceError("You can't leave a 1:1 conversation.", code="not_a_group")
    leaving = str(user_id) in ("me", str(actor.pk))
    if leaving:
        target = actor_membership
    else:
        if actor_membership.role != Membership.Role.ADMIN:
            raise ForbiddenError("Only the group's admins can remove members.", code="not_admin")
        member = Membership.objects.filter(
            conversation=conversation, user_id=parse_uuid(user_id, "Not a member."), left_at__isnull=True
        ).first()
        if member is None:
            raise NotFoundError("Not a member of this conversation.", code="member_not_found")
        target = member
    recipients = _member_ids(conversation.pk)  # the one leaving or removed gets the line too
    # They keep what they saw, up to the line saying they left or were removed.
    now = timezone.now()
    target.left_at, target.left_seq, target.unread_count, target.removed = (
        now,
        conversation.last_seq + 1,
        0,
        not leaving,
    )
    if not leaving:
        target.last_message_at = now  # their inbox shows it on top, the line its last message
    target.save(update_fields=["left_at", "left_seq", "unread_count", "removed", "last_message_at"])
    forget_unread([target.user_id])
    if leaving:
        line = _system_line(conversation, actor=actor, kind=Message.Kind.LEFT, recipients=recipients)
    else:
        target_user = User.objects.select_related("profile").get(pk=target.user_id)
        line = _system_line(
            conversation, actor=actor, kind=Message.Kind.REMOVED, recipients=recipients, targets=[target_user]
        )
    if (
        target.role == Membership.Role.ADMIN
        and not Membership.objects.filter(
            conversation=conversation, role=Membership.Role.ADMIN, left_at__isnull=True
        ).exists()
    ):
        # The last admin left: the longest-standing member takes over.
        heir = (
            Membership.objects.select_related("user__profile")
            .filter(conversation=conversation, left_at__isnull=True)
            .order_by("joined_at")
            .first()
        )
        if heir is not None:
            heir.role = Membership.Role.ADMIN
            heir.save(update_fields=["role"])
            _system_line(
                conversation,
                actor=actor,
                kind=Message.Kind.PROMOTED,
                recipients=_member_ids(conversation.pk),
                targets=[heir.user],
            )
    send_event_on_commit(
        recipients, "conversation.updated", {"conversation_id": str(conversation.pk), "left": str(target.user_id)}
    )
    if not leaving:
        group_membership_changed.send(sender=Message, message=line)


@transaction.atomic
def conversation_accept(*, user: User, conversation_id: uuid.UUID | str) -> Membership:
    """Move a message request into the inbox."""
    membership = membership_for(user, conversation_id, lock=True)
    if membership.folder != Membership.Folder.INBOX:
        membership.folder = Membership.Folder.INBOX
        membership.save(update_fields=["folder"])
        forget_unread([user.pk])
    return membership


def preferences_update(*, user: User, direct_from: str) -> Preferences:
    if direct_from not in Preferences.DirectFrom.values:
        raise ServiceError(
            "Unknown choice.", code="invalid", fields={"direct_from": [f"One of: {', '.join(Preferences.DirectFrom)}."]}
        )
    preferences, _ = Preferences.objects.update_or_create(user=user, defaults={"direct_from": direct_from})
    return preferences


# --- Messages -------------------------------------------------------------------------------------


def _clean_content(content: object) -> str:
    if not isinstance(content, str) or not content.strip():
        raise ServiceError("Write something first.", code="invalid", fields={"content": ["Empty message."]})
    if len(content) > settings.MESSAGE_MAX_LENGTH:
        raise ServiceError(
            f"Messages are at most {settings.MESSAGE_MAX_LENGTH} characters.",
            code="too_long",
            fields={"content": [f"At most {settings.MESSAGE_MAX_LENGTH} characters."]},
        )
    return content


def _clean_client_id(client_id: object) -> str:
    client_id = client_id or ""
    if not isinstance(client_id, str) or len(client_id) > 64:
        raise ServiceError(
            "client_id is a string of at most 64 characters.", code="invalid", fields={"client_id": ["Bad."]}
        )
    return client_id


def _replayed(sender: User, client_id: str) -> Message | None:
    if not client_id:
        return None
    return Message.objects.select_related("sender__profile").filter(sender=sender, client_id=client_id).first()


def message_send(
    *,
    sender: User,
    content: object,
    conversation_id: uuid.UUID | str | None = None,
    receiver_id: uuid.UUID | str | None = None,
    client_id: object = "",
    reply_to: object = None,
) -> tuple[Message, bool]:
    """Send a message to a conversation, or to a user (their 1:1, made on first use); with
    `reply_to`, as a reply to a message of that conversation the sender saw.

    Returns (message, created). A retried send with the same client_id returns the first
    message, created False, and sends nothing again: the insert trips the unique constraint on
    (sender, client_id), so a first send costs no extra lookup. A retry counts for the rate limit.
    """
    client_id = _clean_client_id(client_id)
    content = _clean_content(content)
    if (conversation_id is None) == (receiver_id is None):
        raise ServiceError("Name either receiver_id or conversation_id.", code="invalid")
    ratelimit.hit(
        "message_send", sender.pk, settings.THROTTLE_MESSAGE, message="You're sending too fast; wait a moment."
    )
    try:
        message = _send(sender, content, conversation_id, receiver_id, client_id, reply_to)
    except IntegrityError:  # the same client_id, sent twice at once: the first one won
        replay = _replayed(sender, client_id)
        if replay is None:
            raise
        return replay, False
    logger.info("message %s sent in %s", message.pk, message.conversation_id)
    return message, True


# Sending is the hottest write there is, and the ORM spent more time building its queries than
# the database spent running them (bench_chat, docs/performance.md): the send path below is
# three plain SQL statements plus the ORM's INSERT, portable between PostgreSQL and SQLite.


def _db(model: type[Model], field: str, value: object) -> Any:
    """A value as this database stores it (SQLite keeps UUIDs as hex strings)."""
    column = cast(Field, model._meta.get_field(field))  # a field of the model, not a reverse relation
    return column.get_db_prep_value(value, connection)


def _lock_for_send(
    sender: User, conversation_id: uuid.UUID
) -> tuple[str | None, int, dict[uuid.UUID, bool], set[uuid.UUID]]:
    """(kind, last_seq, {member id: whether they can't be messaged}, {members who muted the sender})
    of a conversation's current members, locking the conversation row: seq is handed out in
    commit order. A member can't be messaged when deactivated or when they and the sender block
    each other either way.
    """
    sender_id = _db(Membership, "user", sender.pk)
    lock = " FOR UPDATE OF c" if connection.features.has_select_for_update_of else ""  # SQLite: IMMEDIATE
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT c.kind, c.last_seq, m.user_id, NOT u.is_active OR EXISTS (
                    SELECT 1 FROM {Block._meta.db_table} b
                    WHERE (b.blocker_id = m.user_id AND b.blocked_id = %s)
                       OR (b.blocker_id = %s AND b.blocked_id = m.user_id)
                ), EXISTS (SELECT 1 FROM {Mute._meta.db_table} mu WHERE mu.muter_id = m.user_id AND mu.muted_id = %s)
            FROM {Membership._meta.db_table} m
            JOIN {Conversation._meta.db_table} c ON c.id = m.conversation_id
            JOIN {User._meta.db_table} u ON u.id = m.user_id
            WHERE m.conversation_id = %s AND m.left_at IS NULL{lock}""",  # noqa: S608 -- names from _meta
            [sender_id, sender_id, sender_id, _db(Membership, "conversation", conversation_id)],
        )
        rows = cursor.fetchall()
    if not rows:
        return None, 0, {}, set()
    kind, last_seq = rows[0][0], rows[0][1]
    members = {_as_uuid(user_id): bool(unreachable) for _, _, user_id, unreachable, _ in rows}
    return kind, last_seq, members, {_as_uuid(user_id) for _, _, user_id, _, muted in rows if muted}


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:  # SQLite hands back UUIDs as hex strings
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def _record_sent(message: Message, sender: User, muters: Iterable[uuid.UUID]) -> None:
    """The conversation's latest message, and each current member's cursors and unread count:
    sending reads everything before it, and a reply accepts a request; others get one more unread,
    but for those who muted the sender (a muted account's messages arrive quietly).
    """
    seq, conversation_id = message.seq, _db(Membership, "conversation", message.conversation_id)
    sender_id = _db(Membership, "user", sender.pk)
    quiet = [_db(Membership, "user", user_id) for user_id in muters] or [sender_id]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Conversation._meta.db_table} SET last_seq = %s, last_message_id = %s WHERE id = %s",  # noqa: S608
            [seq, _db(Conversation, "last_message", message.pk), conversation_id],
        )
        cursor.execute(
            f"""UPDATE {Membership._meta.db_table} SET
                last_message_at = %s,
                unread_count = CASE WHEN user_id = %s THEN 0
                    WHEN user_id IN ({", ".join(["%s"] * len(quiet))}) THEN unread_count ELSE unread_count + 1 END,
                read_seq = CASE WHEN user_id = %s THEN %s ELSE read_seq END,
                delivered_seq = CASE WHEN user_id = %s THEN %s ELSE delivered_seq END,
                folder = CASE WHEN user_id = %s THEN %s ELSE folder END
            WHERE conversation_id = %s AND left_at IS NULL""",  # noqa: S608
            [
                _db(Membership, "last_message_at", message.created_at),
                sender_id,
                *quiet,
                sender_id,
                seq,
                sender_id,
                seq,
                sender_id,
                Membership.Folder.INBOX.value,
                conversation_id,
            ],
        )


@transaction.atomic
def _send(
    sender: User,
    content: str,
    conversation_id: uuid.UUID | str | None,
    receiver_id: uuid.UUID | str | None,
    client_id: str,
    reply_to: object = None,
) -> Message:
    if receiver_id is not None:
        conversation_id = conversation_direct(user=sender, other_user_id=receiver_id).conversation_id
    conversation_pk = parse_uuid(conversation_id)
    kind, last_seq, members, muters = _lock_for_send(sender, conversation_pk)
    if sender.pk not in members:
        raise NotFoundError("No such conversation.", code="conversation_not_found")
    others = [user_id for user_id in members if user_id != sender.pk]
    # A 1:1 needs the other side active and neither of the two blocking the other.
    if kind == Conversation.Kind.DIRECT and any(members[user_id] for user_id in others):
        raise ForbiddenError("You can't message this account.", code="blocked")
    target = _reply_target(sender, conversation_pk, reply_to) if reply_to not in (None, "") else None
    seq = last_seq + 1
    message = Message.objects.create(
        conversation_id=conversation_pk, seq=seq, sender=sender, content=content, client_id=client_id, reply_to=target
    )
    message.reaction_rows = []
    _record_sent(message, sender, muters)
    forget_unread(members)  # one more unread for the others, none left for the sender
    # Others first: the sender's own devices already hold the message.
    send_event_on_commit(others, "message.new", message_payload(message))
    send_event_on_commit([sender.pk], "message.new", message_payload(message, for_sender=True))
    message_sent.send(sender=Message, message=message)  # after the events: their on_commit runs first
    transaction.on_commit(metrics.MESSAGES_CREATED.inc)
    return message


def _reply_target(sender: User, conversation_id: uuid.UUID, reply_to: object) -> Message:
    """The message a reply answers: one the sender saw in this conversation, a member's, not deleted."""
    invalid = {"reply_to": ["Not a message of this conversation."]}
    if not isinstance(reply_to, str):
        raise ServiceError("reply_to is a message id.", code="invalid", fields=invalid)
    try:
        target_id = parse_uuid(reply_to)
    except NotFoundError:
        raise ServiceError("Not a message of this conversation.", code="invalid", fields=invalid) from None
    joined = Membership.objects.filter(conversation_id=conversation_id, user=sender).values("joined_seq")
    target = (
        Message.objects.select_related("sender__profile")
        .filter(pk=target_id, conversation_id=conversation_id, seq__gt=Subquery(joined[:1]))
        .first()
    )
    if target is None:
        raise ServiceError("Not a message of this conversation.", code="invalid", fields=invalid)
    if target.is_system:
        raise ServiceError("Lines about the group can't be replied to.", code="invalid", fields=invalid)
    if target.deleted_at is not None:
        raise ConflictError("That message was deleted.", code="deleted")
    return target


def _own_message(user: User, message_id: uuid.UUID | str, *, lock: bool = True) -> Message:
    messages = Message.objects.select_related("sender__profile", "reply_to__sender__profile")
    if lock:
        messages = messages.select_for_update(of=("self",))
    message = messages.filter(pk=parse_uuid(message_id)).first()
    if (
        message is None
        or not Membership.objects.filter(
            conversation_id=message.conversation_id, user=user, left_at__isnull=True
        ).exists()
    ):
        raise NotFoundError("No such message.", code="message_not_found")
    if message.is_system:
        raise ForbiddenError("Lines about the group can't be changed.", code="system_message")
    if message.sender_id != user.pk:
        raise ForbiddenError("You can only change your own messages.", code="not_owner")
    if message.deleted_at is not None:
        raise ConflictError("This message was deleted.", code="deleted")
    return message


@transaction.atomic
def message_edit(*, editor: User, message_id: uuid.UUID | str, content: object = None) -> Message:
    """Change one's own message's text; without `content` (a PATCH of nothing) it stays as it is."""
    message = _own_message(editor, message_id)
    if content is None:
        return message
    message.content = _clean_content(content)
    message.edited_at = timezone.now()
    message.save(update_fields=["content", "edited_at"])
    send_event_on_commit(_member_ids(message.conversation_id), "message.updated", message_payload(message))
    return message


@transaction.atomic
def message_delete(*, actor: User, message_id: uuid.UUID | str) -> Message:
    """Erase one's own message; its place in the thread stays, marked deleted."""
    message = _own_message(actor, message_id)
    message.content, message.deleted_at = "", timezone.now()
    message.save(update_fields=["content", "deleted_at"])
    # Nobody has to read a deleted message any more.
    Membership.objects.filter(
        conversation_id=message.conversation_id,
        left_at__isnull=True,
        read_seq__lt=message.seq,
        joined_seq__lt=message.seq,
        unread_count__gt=0,
    ).exclude(user=actor).update(unread_count=F("unread_count") - 1)
    members = _member_ids(message.conversation_id)
    forget_unread(members)
    send_event_on_commit(members, "message.deleted", message_payload(message))
    return message


# --- Reactions ------------------------------------------------------------------------------------


def _clean_emoji(emoji: object) -> str:
    if not isinstance(emoji, str) or emoji not in REACTION_EMOJI:
        allowed = " ".join(REACTION_EMOJI)
        raise ServiceError(f"React with one of {allowed}.", code="invalid", fields={"emoji": [f"One of {allowed}."]})
    return emoji


def _message_to_react_to(user: User, message_id: uuid.UUID | str) -> Message:
    """The message, locked (reactions to it are counted in order), if the user is a current member who
    saw it, it is a member's message and not deleted; in a 1:1, neither side blocks the other."""
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("conversation")
        .filter(pk=parse_uuid(message_id, "No such message."))
        .first()
    )
    if (
        message is None
        or not Membership.objects.filter(
            conversation_id=message.conversation_id, user=user, left_at__isnull=True, joined_seq__lt=message.seq
        ).exists()
    ):
        raise NotFoundError("No such message.", code="message_not_found")
    if message.is_system:
        raise ForbiddenError("Lines about the group can't get reactions.", code="system_message")
    if message.deleted_at is not None:
        raise ConflictError("This message was deleted.", code="deleted")
    if message.conversation.kind == Conversation.Kind.DIRECT:
        others = Membership.objects.filter(conversation_id=message.conversation_id).exclude(user=user)
        other = User.objects.filter(pk__in=others.values("user_id")).first()
        if other is not None and (not other.is_active or blocked_between(user, other)):
            raise ForbiddenError("You can't message this account.", code="blocked")
    return message


def _react(user: User, message_id: uuid.UUID | str, emoji: object, *, on: bool) -> tuple[Message, bool]:
    emoji = _clean_emoji(emoji)
    # Every change reaches every member: as many a minute as messages (THROTTLE_MESSAGE), counted apart.
    ratelimit.hit(
        "message_react", user.pk, settings.THROTTLE_MESSAGE, message="You're reacting too fast; wait a moment."
    )
    message = _message_to_react_to(user, message_id)
    if on:
        _, changed = Reaction.objects.get_or_create(message=message, user=user, emoji=emoji)
    else:
        changed = Reaction.objects.filter(message=message, user=user, emoji=emoji).delete()[0] > 0
    with_reactions([message])
    if changed:
        data = {
            "conversation_id": str(message.conversation_id),
            "message_id": str(message.pk),
            "seq": message.seq,
            "user_id": str(user.pk),
            "emoji": emoji,
            "reacted": on,
            "reactions": reaction_summary(message),
        }
        send_event_on_commit(_member_ids(message.conversation_id), "message.reaction", data)
    return message, changed


@transaction.atomic
def message_react(*, user: User, message_id: uuid.UUID | str, emoji: object) -> tuple[Message, bool]:
    """Add the user's emoji to a message. Returns (message with its reactions, whether it was new):
    reacting again with the same emoji changes nothing and tells nobody. Members get
    `message.reaction` after commit."""
    return _react(user, message_id, emoji, on=True)


@transaction.atomic
def message_unreact(*, user: User, message_id: uuid.UUID | str, emoji: object) -> tuple[Message, bool]:
    """Take the user's emoji off a message; (message, whether there was one to take off)."""
    return _react(user, message_id, emoji, on=False)


# --- Receipts -------------------------------------------------------------------------------------


def _seq_of(membership: Membership, message_id: uuid.UUID | str | None) -> int:
    """The seq of a message in the member's conversation (default: the latest)."""
    conversation = membership.conversation
    if message_id in (None, ""):
        return conversation.last_seq
    seq = (
        Message.objects.filter(conversation=conversation, pk=parse_uuid(message_id, "No such message."))
        .values_list("seq", flat=True)
        .first()
    )
    if seq is None:
        raise NotFoundError("No such message in this conversation.", code="message_not_found")
    return seq


def _senders_between(conversation_id: uuid.UUID, low: int, high: int, *, but: uuid.UUID) -> list[uuid.UUID]:
    return list(
        Message.objects.filter(conversation_id=conversation_id, seq__gt=low, seq__lte=high, kind=Message.Kind.TEXT)
        .exclude(sender_id=but)
        .values_list("sender_id", flat=True)
        .distinct()
    )


def _receipt(membership: Membership, seq: int) -> dict[str, Any]:
    return {
        "conversation_id": str(membership.conversation_id),
        "user_id": str(membership.user_id),
        "up_to_seq": seq,
    }


@transaction.atomic
def conversation_read(
    *, reader: User, conversation_id: uuid.UUID | str, message_id: uuid.UUID | str | None = None
) -> Membership:
    """The reader has read up to this message (default: the latest). Returns the membership."""
    membership = membership_for(reader, conversation_id, lock=True)
    seq = _seq_of(membership, message_id)
    if seq <= membership.read_seq:
        return membership
    before = membership.read_seq
    membership.read_seq = seq
    membership.delivered_seq = max(membership.delivered_seq, seq)
    membership.unread_count = (
        Message.objects.filter(
            conversation_id=membership.conversation_id, seq__gt=seq, deleted_at__isnull=True, kind=Message.Kind.TEXT
        )
        .exclude(sender=reader)
        .count()
    )
    membership.save(update_fields=["read_seq", "delivered_seq", "unread_count"])
    forget_unread([reader.pk])
    senders = _senders_between(membership.conversation_id, before, seq, but=reader.pk)
    # The senders see their ticks turn; the reader's other devices clear their badges.
    send_event_on_commit([*senders, reader.pk], "message.read", _receipt(membership, seq))
    return membership


@transaction.atomic
def conversation_delivered(
    *,
    user: User,
    conversation_id: uuid.UUID | str,
    message_id: uuid.UUID | str | None = None,
    seq: int | None = None,
) -> Membership:
    """The user's client received messages up to this one (or this seq; default: the latest)."""
    membership = membership_for(user, conversation_id, lock=True, active=False)
    seq = min(seq, membership.conversation.last_seq) if seq is not None else _seq_of(membership, message_id)
    if not membership.active or seq <= membership.delivered_seq:  # a former member receives nothing new
        return membership
    before = membership.delivered_seq
    membership.delivered_seq = seq
    membership.save(update_fields=["delivered_seq"])
    senders = _senders_between(membership.conversation_id, before, seq, but=user.pk)
    send_event_on_commit(senders, "message.delivered", _receipt(membership, seq))
    return membership


# --- Typing ---------------------------------------------------------------------------------------


def typing(*, user: User, conversation_id: uuid.UUID | str, state: str) -> bool:
    """typing.start / typing.stop: relayed to the other members, never stored."""
    if state not in ("start", "stop"):
        raise ServiceError("state is start or stop.", code="invalid")
    membership = membership_for(user, conversation_id)
    if state == "start" and not cache.add(
        f"typing:{membership.conversation_id}:{user.pk}", 1, TYPING_MIN_INTERVAL_SECONDS
    ):
        return False  # said lately: the others still show it
    others = [pk for pk in _member_ids(membership.conversation_id) if pk != str(user.pk)]
    data = {
        "conversation_id": str(membership.conversation_id),
        "user_id": str(user.pk),
        "username": user.username,
        "state": state,
        "expires_in": TYPING_EXPIRES_SECONDS if state == "start" else 0,
    }
    send_event_on_commit(others, "typing", data)
    return True


# --- Reports --------------------------------------------------------------------------------------


@transaction.atomic
def report_create(
    *, reporter: User, message_id: uuid.UUID | str, reason: str, details: str = ""
) -> tuple[MessageReport, bool]:
    """A member reports a message of someone else's; a repeated report is the same report."""
    if reason not in MessageReport.Reason.values:
        raise ServiceError("Unknown reason.", code="invalid", fields={"reason": ["Unknown reason."]})
    message = Message.objects.filter(pk=parse_uuid(message_id)).first()
    if (
        message is None
        or not Membership.objects.filter(
            Q(left_seq__isnull=True) | Q(left_seq__gte=message.seq),
            conversation_id=message.conversation_id,
            user=reporter,
            joined_seq__lt=message.seq,
        ).exists()
    ):
        raise NotFoundError("No such message.", code="message_not_found")
    if message.is_system:
        raise ForbiddenError("Lines about the group can't be reported.", code="system_message")
    if message.sender_id == reporter.pk:
        raise ServiceError("You can't report your own message.", code="own_message")
    existing = MessageReport.objects.filter(
        reporter=reporter, message=message, status=MessageReport.Status.OPEN
    ).first()
    if existing is not None:
        return existing, False
    ratelimit.hit("report", reporter.pk, settings.THROTTLE_REPORT, message="Too many reports; try again later.")
    report = MessageReport.objects.create(reporter=reporter, message=message, reason=reason, details=details[:1000])
    logger.info("message %s reported (%s)", message.pk, report.pk)
    return report, True


@transaction.atomic
def report_resolve(
    *, moderator: User, report_id: uuid.UUID | str, remove_message: bool, resolution: str | None
) -> MessageReport:
    """Close an open report; with remove_message, the message is erased for everyone."""
    resolution = (resolution or "").strip()
    if not resolution:
        raise ServiceError("Say why.", code="invalid", fields={"resolution": ["Required."]})
    report = MessageReport.objects.select_for_update().select_related("message").filter(pk=report_id).first()
    if report is None:
        raise NotFoundError("No such report.")
    if report.status != MessageReport.Status.OPEN:
        raise ServiceError("This report is already resolved.", code="already_resolved")
    message = report.message
    if remove_message and message.deleted_at is None:
        message.content, message.deleted_at = "", timezone.now()
        message.save(update_fields=["content", "deleted_at"])
        send_event_on_commit(_member_ids(message.conversation_id), "message.deleted", message_payload(message))
    now = timezone.now()
    status = MessageReport.Status.ACTIONED if remove_message else MessageReport.Status.DISMISSED
    # Every open report of this message is settled by the one decision.
    MessageReport.objects.filter(message=message, status=MessageReport.Status.OPEN).update(
        status=status, resolved_at=now, resolved_by=moderator, resolution=resolution[:500]
    )
    logger.info("message report %s resolved by %s: %s", report.pk, moderator.pk, status)
    return report

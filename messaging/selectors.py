"""Reads for direct messages: conversations, messages a member may see, and receipt status.

A member sees a conversation's messages after `joined_seq` and, once they left, up to
`left_seq`. A message's status is the least advanced cursor among its recipients (the members
who were there when it was sent and still are): "read" when every one has read it,
"delivered" when every one has received it, else "sent".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum

from messaging.models import REACTION_EMOJI, Conversation, Membership, Message, Preferences, Reaction
from socialsite import safe_cache
from socialsite.errors import NotFoundError, ServiceError
from socialsite.params import parse_uuid

if TYPE_CHECKING:
    from uuid import UUID

    from accounts.models import User

# A membership's receipt cursors, as receipts_of reads them.
MemberRow = Mapping[str, Any]


def membership_for(user: User, conversation_id: object, *, lock: bool = False, active: bool = True) -> Membership:
    """The user's membership, or 404: a non-member can't tell whether the conversation exists."""
    memberships = Membership.objects.select_related("conversation")
    if lock:
        memberships = memberships.select_for_update(of=("self",))
    membership = memberships.filter(conversation_id=parse_uuid(conversation_id), user=user).first()
    if membership is None or (active and not membership.active):
        raise NotFoundError("No such conversation.", code="conversation_not_found")
    return membership


def _with_conversation(memberships: QuerySet[Membership]) -> QuerySet[Membership]:
    # Every membership, those who left included: receipts count everyone who was there when a
    # message was sent (Conversation.active_members is the current ones, from the same rows).
    everyone = Membership.objects.select_related("user__profile").order_by("joined_at", "pk")
    return memberships.select_related(
        "conversation__last_message__sender__profile", "conversation__last_message__reply_to__sender__profile"
    ).prefetch_related(Prefetch("conversation__memberships", queryset=everyone, to_attr="all_members"))


# A member's conversations: those they are in, and the groups an admin removed them from (read-only,
# ending with the line saying so); not those they left.
LISTED = Q(left_at__isnull=True) | Q(removed=True)


def conversations(*, user: User, folder: str = Membership.Folder.INBOX) -> QuerySet[Membership]:
    """The user's conversations in a folder, latest activity first."""
    if folder not in Membership.Folder.values:
        raise ServiceError("Unknown folder.", code="invalid", fields={"folder": ["inbox or requests."]})
    return _with_conversation(Membership.objects.filter(LISTED, user=user, folder=folder)).order_by(
        "-last_message_at", "-id"
    )


def conversation_get(*, user: User, conversation_id: object) -> Membership:
    membership = _with_conversation(
        Membership.objects.filter(LISTED, user=user, conversation_id=parse_uuid(conversation_id))
    ).first()
    if membership is None:
        raise NotFoundError("No such conversation.", code="conversation_not_found")
    return membership


def unread_totals(*, user: User) -> dict[str, int]:
    """{"inbox": unread messages, "requests": conversations waiting in requests}, in one query."""
    totals = Membership.objects.filter(user=user, left_at__isnull=True).aggregate(
        inbox=Sum("unread_count", filter=Q(folder=Membership.Folder.INBOX)),
        requests=Count("pk", filter=Q(folder=Membership.Folder.REQUESTS, unread_count__gt=0)),
    )
    return {"inbox": totals["inbox"] or 0, "requests": totals["requests"] or 0}


# The nav badge's total on every page is cached. Every write that moves a member's unread count,
# folder or membership drops it (messaging.services.forget_unread); the timeout bounds a reader
# that cached an old total while such a write committed.
UNREAD_CACHE_SECONDS = 60


def unread_key(user_id: object) -> str:
    return f"messaging:unread:v1:{user_id}"


def unread_badge(*, user: User) -> int:
    """Unread inbox messages plus message requests waiting (the nav badge), cached per user."""

    def count() -> int:
        totals = unread_totals(user=user)
        return totals["inbox"] + totals["requests"]

    total: int = safe_cache.remember(unread_key(user.pk), count, UNREAD_CACHE_SECONDS)
    return total


def direct_with(*, user: User, other: User | UUID) -> Membership | None:
    """The user's 1:1 membership with `other`, or None."""
    return (
        Membership.objects.filter(user=user, left_at__isnull=True, conversation__kind=Conversation.Kind.DIRECT)
        .filter(conversation__memberships__user=other)
        .first()
    )


def direct_from(*, user: User) -> str:
    """Who may start a conversation in the user's inbox (Preferences.DirectFrom)."""
    value = Preferences.objects.filter(user=user).values_list("direct_from", flat=True).first()
    return value or Preferences.DirectFrom.EVERYONE


def _visible_range(membership: Membership) -> Q:
    seen = Q(conversation_id=membership.conversation_id, seq__gt=membership.joined_seq)
    if membership.left_seq is not None:
        seen &= Q(seq__lte=membership.left_seq)
    return seen


def messages(*, user: User, conversation_id: object = None) -> QuerySet[Message]:
    """Messages the user may read: in one conversation (also one they left), or in all of theirs."""
    queryset = Message.objects.select_related("sender__profile", "reply_to__sender__profile")
    if conversation_id is not None:
        return queryset.filter(_visible_range(membership_for(user, conversation_id, active=False)))
    member = Membership.objects.filter(
        conversation_id=OuterRef("conversation_id"), user=user, joined_seq__lt=OuterRef("seq")
    )
    member = member.filter(Q(left_seq__isnull=True) | Q(left_seq__gte=OuterRef("seq")))
    return queryset.filter(Exists(member))


SEARCH_MAX_CHARS = 100


def message_search(messages: QuerySet[Message], query: object) -> QuerySet[Message]:
    """Those of `messages` (from `messages()`) whose text contains `query`, any case: members'
    messages only, not deleted ones."""
    if not isinstance(query, str) or not query.strip():
        raise ServiceError("Type something to search for.", code="invalid", fields={"q": ["Empty."]})
    if len(query) > SEARCH_MAX_CHARS:
        raise ServiceError(
            f"Search for at most {SEARCH_MAX_CHARS} characters.",
            code="invalid",
            fields={"q": [f"At most {SEARCH_MAX_CHARS} characters."]},
        )
    return messages.filter(kind=Message.Kind.TEXT, deleted_at__isnull=True, content__icontains=query.strip())


def system_ids(message: Message) -> dict[str, Any] | None:
    """What the API shows of a system line's payload (None for a member's message)."""
    if not message.is_system:
        return None
    system = message.system
    return {
        "actor_id": system.get("actor_id"),
        "target_ids": list(system.get("target_ids", [])),
        "title": system.get("title"),
    }


def with_reactions(messages: Sequence[Message]) -> Sequence[Message]:
    """Set `reaction_rows` on each message (a list): one query for all of them."""
    rows: dict[UUID, list[Reaction]] = {}
    ids = [m.pk for m in messages]
    if ids:
        for reaction in Reaction.objects.filter(message_id__in=ids).order_by("created_at", "pk"):
            rows.setdefault(reaction.message_id, []).append(reaction)
    for message in messages:
        message.reaction_rows = rows.get(message.pk, [])
    return messages


def reaction_summary(message: Message, viewer_id: object = None) -> list[dict[str, Any]]:
    """[{"emoji", "count", "user_ids", "me"?}] in REACTION_EMOJI order, from `reaction_rows`
    (with_reactions; none loaded: no reactions). `me` only for a viewer (REST answers one caller;
    a socket event goes to every member, who find themselves in user_ids). A deleted message has none."""
    if message.deleted_at is not None:
        return []
    by_emoji: dict[str, list[str]] = {}
    for reaction in getattr(message, "reaction_rows", None) or []:
        by_emoji.setdefault(reaction.emoji, []).append(str(reaction.user_id))
    order = {emoji: i for i, emoji in enumerate(REACTION_EMOJI)}
    summary = []
    for emoji in sorted(by_emoji, key=lambda e: order.get(e, len(order))):
        item: dict[str, Any] = {"emoji": emoji, "count": len(by_emoji[emoji]), "user_ids": by_emoji[emoji]}
        if viewer_id is not None:
            item["me"] = str(viewer_id) in by_emoji[emoji]
        summary.append(item)
    return summary


REPLY_EXCERPT_CHARS = 120


def reply_summary(message: Message) -> dict[str, Any] | None:
    """{"id", "sender": {"id", "username", "display_name"}, "excerpt", "deleted"} of the message this
    one answers (select_related by `messages`), or None. A deleted target's excerpt is empty. The
    sender chose to quote it, so members who joined after it see the quote too."""
    target = message.reply_to
    if target is None:
        return None
    deleted = target.deleted_at is not None
    excerpt = "" if deleted else " ".join(target.content.split())
    if len(excerpt) > REPLY_EXCERPT_CHARS:
        excerpt = excerpt[: REPLY_EXCERPT_CHARS - 1].rstrip() + "…"
    sender = target.sender
    return {
        "id": str(target.pk),
        "sender": {"id": str(sender.pk), "username": sender.username, "display_name": sender.profile.name},
        "excerpt": excerpt,
        "deleted": deleted,
    }


def with_status(messages: Sequence[Message]) -> Sequence[Message]:
    """Set `status` and `read_by` on each message (a list) from its recipients' cursors, and their
    `reaction_rows`: two queries."""
    with_reactions(messages)
    conversation_ids = {m.conversation_id for m in messages}
    members: dict[UUID, list[MemberRow]] = {}
    for row in Membership.objects.filter(conversation_id__in=conversation_ids).values(
        "conversation_id", "user_id", "joined_seq", "left_seq", "delivered_seq", "read_seq"
    ):
        members.setdefault(row["conversation_id"], []).append(row)
    for message in messages:
        message.status, message.read_by = receipts_of(message, members.get(message.conversation_id, []))
    return messages


def receipts_of(message: Message, members: Iterable[MemberRow]) -> tuple[str, list[str]]:
    """(status, ids of the recipients who read it) over the members who were there when it was
    sent, whether or not they are still: leaving doesn't turn a read message back to sent. A
    message nobody else received is "sent"."""
    recipients = [
        m
        for m in members
        if m["user_id"] != message.sender_id
        and m["joined_seq"] < message.seq
        and (m["left_seq"] is None or m["left_seq"] >= message.seq)
    ]
    read_by = [str(m["user_id"]) for m in recipients if m["read_seq"] >= message.seq]
    if not recipients:
        return "sent", read_by
    if len(read_by) == len(recipients):
        return "read", read_by
    if all(m["delivered_seq"] >= message.seq for m in recipients):
        return "delivered", read_by
    return "sent", read_by


def _last_seen(memberships: Iterable[Membership]) -> dict[tuple[UUID, int], Message]:
    """{(conversation id, seq): message} of the last message former members saw (at their left_seq):
    one query, and none when all are current members."""
    gone = Q()
    for membership in memberships:
        if membership.left_seq is not None:
            gone |= Q(conversation_id=membership.conversation_id, seq=membership.left_seq)
    if not gone:
        return {}
    last = Message.objects.filter(gone).select_related("sender__profile", "reply_to__sender__profile")
    return {(m.conversation_id, m.seq): m for m in last}


def for_display(memberships: Sequence[Membership]) -> Sequence[Membership]:
    """Set `last_message` (with its status) on each of these memberships (a list): no query, but
    one for those removed from a group (their last message is the line saying so)."""
    last_seen = _last_seen(memberships)
    for membership in memberships:
        conversation = membership.conversation
        message = conversation.last_message
        if membership.left_seq is not None and (message is None or message.seq > membership.left_seq):
            message = last_seen.get((membership.conversation_id, membership.left_seq))
        if message is None or message.seq <= membership.joined_seq:
            membership.last_message = None
            continue
        rows = [
            {
                "user_id": m.user_id,
                "joined_seq": m.joined_seq,
                "left_seq": m.left_seq,
                "delivered_seq": m.delivered_seq,
                "read_seq": m.read_seq,
            }
            for m in conversation.all_members
        ]
        message.status, message.read_by = receipts_of(message, rows)
        membership.last_message = message
    return memberships


def seq_of(messages: QuerySet[Message], after: str | int) -> int:
    """A resync point: a seq, or the id of a message among these."""
    if str(after).isdigit():
        return int(after)
    try:
        seq = messages.filter(pk=parse_uuid(after)).values_list("seq", flat=True).first()
    except NotFoundError:
        seq = None
    if seq is None:
        raise ServiceError(
            "Not a message of this conversation.", code="invalid", fields={"after": ["Unknown message."]}
        )
    return seq

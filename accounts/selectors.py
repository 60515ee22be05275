"""Reads for accounts. `User.objects.visible_to(viewer)` decides who can be seen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from phonenumber_field.phonenumber import to_python

from accounts.models import Block, Follow, FollowRequest, Mute, Profile
from socialsite import safe_cache
from socialsite.errors import ForbiddenError, NotFoundError
from socialsite.params import parse_uuid

if TYPE_CHECKING:
    from uuid import UUID

    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User as UserModel

    Viewer = UserModel | AnonymousUser

User = get_user_model()


def phone_number(text: str) -> str:
    """`text` as an E.164 phone number when it is a valid one written with its country code, else ""."""
    if not text.startswith("+"):
        return ""
    number = to_python(text)
    e164: str = number.as_e164 if number is not None and number.is_valid() else ""
    return e164


def login_attempt_key(*, login: str | None = "", phone: str | None = "") -> str:
    """What failed log-ins count against: the account the typed username, email address (any case)
    or phone number names, so each way of naming it shares one limit; else what was typed."""
    login, phone = str(login or "").strip(), str(phone or "").strip()
    if phone:
        accounts = User.objects.filter(phone=phone)
    elif login:
        accounts = User.objects.filter(Q(username__iexact=login) | Q(email__iexact=login))
    else:
        return ""
    account = accounts.order_by("pk").values_list("pk", flat=True).first()
    return f"account:{account}" if account else (phone or login).casefold()


def user_list_queryset(*, viewer: Viewer) -> QuerySet[UserModel]:
    users: QuerySet[UserModel] = User.objects.visible_to(viewer).select_related("profile")
    return users


def user_get(*, viewer: Viewer, user_id: object) -> UserModel:
    """A user the viewer may see, or NotFoundError (deactivated, blocking the viewer, unknown)."""
    try:
        return user_list_queryset(viewer=viewer).get(pk=parse_uuid(user_id, "No such user."))
    except User.DoesNotExist:
        raise NotFoundError("No such user.")


def user_get_by_username(*, viewer: Viewer, username: str) -> UserModel:
    try:
        return user_list_queryset(viewer=viewer).get(username__iexact=username)
    except User.DoesNotExist:
        raise NotFoundError("No such user.")


def relationship(*, viewer: Viewer, user: UserModel) -> dict[str, bool]:
    """How the viewer relates to `user`; all false for anonymous viewers and oneself."""
    if not viewer.is_authenticated or viewer.pk == user.pk:
        return {key: False for key in ("following", "followed_by", "requested", "blocking", "muting")}
    return {
        "following": Follow.objects.filter(follower=viewer, followed=user).exists(),
        "followed_by": Follow.objects.filter(follower=user, followed=viewer).exists(),
        "requested": FollowRequest.objects.filter(requester=viewer, target=user).exists(),
        "blocking": Block.objects.filter(blocker=viewer, blocked=user).exists(),
        "muting": Mute.objects.filter(muter=viewer, muted=user).exists(),
    }


def blocked_between(a: UserModel | UUID | str, b: UserModel | UUID | str) -> bool:
    """Whether either of two users (or user ids) blocks the other."""
    return Block.objects.filter(Q(blocker=a, blocked=b) | Q(blocker=b, blocked=a)).exists()


def can_view_connections(*, viewer: Viewer, user: UserModel) -> bool:
    if not user.profile.is_private or viewer.pk == user.pk:
        return True
    return viewer.is_authenticated and Follow.objects.filter(follower=viewer, followed=user).exists()


def _connections(*, viewer: Viewer, user: UserModel, related: Literal["follower", "followed"]) -> QuerySet[Follow]:
    if not can_view_connections(viewer=viewer, user=user):
        raise ForbiddenError("This account is private.", code="private_account")
    visible = User.objects.visible_to(viewer).filter(pk=OuterRef(f"{related}_id"))
    filter_field = "followed" if related == "follower" else "follower"
    return Follow.objects.filter(**{filter_field: user}).filter(Exists(visible)).select_related(f"{related}__profile")


def followers_queryset(*, viewer: Viewer, user: UserModel) -> QuerySet[Follow]:
    """Follow rows whose `follower` is visible to the viewer, newest first."""
    return _connections(viewer=viewer, user=user, related="follower").order_by("-created_at")


def following_queryset(*, viewer: Viewer, user: UserModel) -> QuerySet[Follow]:
    return _connections(viewer=viewer, user=user, related="followed").order_by("-created_at")


def follow_requests_queryset(*, user: UserModel) -> QuerySet[FollowRequest]:
    return FollowRequest.objects.filter(target=user).select_related("requester__profile").order_by("-created_at")


# The header's "Follow requests" badge on every page is cached; any saved or deleted request drops
# its target's count (accounts/receivers.py).
FOLLOW_REQUEST_COUNT_SECONDS = 300


def follow_request_count_key(user_id: UUID) -> str:
    return f"accounts:follow-requests:v1:{user_id}"


def follow_request_count_cached(*, user: UserModel) -> int:
    count: int = safe_cache.remember(
        follow_request_count_key(user.pk),
        lambda: follow_requests_queryset(user=user).count(),
        FOLLOW_REQUEST_COUNT_SECONDS,
    )
    return count


# The home page's "Welcome, <name>" is cached, so the page reads no profile row; a saved or
# deleted profile drops it (accounts/receivers.py).
DISPLAY_NAME_SECONDS = 300


def display_name_key(user_id: UUID) -> str:
    return f"accounts:display-name:v1:{user_id}"


def display_name_cached(*, user: UserModel) -> str:
    """`user.profile.name`: the display name, else the username."""
    name: str = safe_cache.remember(
        display_name_key(user.pk),
        lambda: Profile.objects.filter(user=user).values_list("display_name", flat=True).first() or "",
        DISPLAY_NAME_SECONDS,
    )
    return name or user.username


def blocks_queryset(*, user: UserModel) -> QuerySet[Block]:
    return Block.objects.filter(blocker=user).select_related("blocked__profile").order_by("-created_at")


def mutes_queryset(*, user: UserModel) -> QuerySet[Mute]:
    return Mute.objects.filter(muter=user).select_related("muted__profile").order_by("-created_at")

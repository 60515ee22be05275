"""Writes for accounts: registration, profile, follows, requests, blocks, mutes, erasure, suspension.

Every function is keyword-only, runs in one transaction, and registers its side
effects: Celery tasks through the outbox, socket events with on_commit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts import selectors, tokens
from accounts.images import avatar_from_upload
from accounts.models import Block, Follow, FollowRequest, Interest, Mute, Profile
from accounts.signals import (
    account_deactivated,
    account_suspended,
    account_unsuspended,
    follow_request_closed,
    follow_requested,
    relationship_changed,
)
from socialsite import breakers, metrics, outbox, safe_cache
from socialsite.errors import STORAGE_ERRORS, ConflictError, ForbiddenError, NotFoundError, ServiceError
from socialsite.realtime.events import close_sockets_on_commit, send_event_on_commit

if TYPE_CHECKING:
    from uuid import UUID

    from django.core.files.uploadedfile import UploadedFile

    from accounts.models import User as UserModel

User = get_user_model()

LAST_ACTIVE_RESOLUTION_SECONDS = 300
# In front of the cache: a process asks it about a user at most once a minute, within the resolution.
LAST_ACTIVE_MEMO_SECONDS = 60
LAST_ACTIVE_MEMO_SIZE = 10_000
_last_active_asked: dict[UUID, float] = {}  # user pk -> time.monotonic() of the last ask
MAX_INTERESTS = 20
PROFILE_INFO_MAX_KEYS = 20
PROFILE_INFO_MAX_CHARS = 2000


def profile_ensure(*, user: UserModel) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def _user_summary(user: UserModel) -> dict[str, str]:
    return {"id": str(user.pk), "username": user.username, "display_name": user.profile.name}


# --- Registration and profile ------------------------------------------------------------


def validate_profile_info(profile_info: object) -> dict[str, Any]:
    if profile_info is None:
        return {}
    if not isinstance(profile_info, dict):
        raise ServiceError("profile_info must be an object.", fields={"profile_info": ["Must be a JSON object."]})
    if len(profile_info) > PROFILE_INFO_MAX_KEYS or len(str(profile_info)) > PROFILE_INFO_MAX_CHARS:
        raise ServiceError("profile_info is too large.", fields={"profile_info": ["Too large."]})
    return profile_info


@transaction.atomic
def user_register(
    *, email: str, password: str, username: str, profile_info: object = None, phone: str | None = None
) -> UserModel:
    """Create an account with a profile; the caller sends the verification email."""
    email = User.objects.normalize_email(email).strip()
    errors: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except DjangoValidationError:
        errors["email"] = ["Enter a valid email address."]
    if User.objects.filter(email__iexact=email).exists():
        errors["email"] = ["An account with this email already exists."]
    if User.objects.filter(username__iexact=username).exists():
        errors["username"] = ["This username is taken."]
    candidate = User(username=username, email=email)
    try:
        User._meta.get_field("username").run_validators(username)
    except DjangoValidationError as exc:
        errors["username"] = list(exc.messages)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ServiceError("Some fields are not valid.", fields=errors)
    try:
        with transaction.atomic():
            user: UserModel = User.objects.create_user(username=username, email=email, password=password, phone=phone)
    except IntegrityError:
        raise ConflictError("An account with this username or email already exists.", code="already_exists")
    profile = user.profile
    profile.profile_info = validate_profile_info(profile_info)
    profile.save(update_fields=["profile_info"])

    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    transaction.on_commit(metrics.SIGNUPS.labels("api").inc)
    return user


@transaction.atomic
def profile_update(*, user: UserModel, **changes: Any) -> Profile:
    """Change the owner's own profile fields; `interests` is a list of names."""
    profile = Profile.objects.select_for_update().get(user=user)
    allowed = {"display_name", "bio", "profile_info", "is_private"}
    updated = []
    for field in allowed & changes.keys():
        value = changes[field]
        if field == "profile_info":
            value = validate_profile_info(value)
        if field in {"display_name", "bio"}:
            value = (value or "").strip()
        setattr(profile, field, value)
        updated.append(field)
    was_private = Profile.objects.filter(pk=profile.pk).values_list("is_private", flat=True).get()
    if updated:
        profile.full_clean(exclude=["user", "avatar", "interests"])
        profile.save(update_fields=[*updated, "updated_at"])
    if "interests" in changes:
        _set_interests(profile, changes["interests"])
    if was_private and not profile.is_private:
        # Going public lets everyone who asked in.
        for follow_request in FollowRequest.objects.filter(target=user).select_related("requester"):
            _approve(follow_request)
    return profile


@transaction.atomic
def interests_set(*, user: UserModel, names: Iterable[object]) -> list[str]:
    """Replace the user's interests (names, normalized: lowercase, single spaces, at most 40
    characters, at most MAX_INTERESTS); returns them sorted."""
    profile = Profile.objects.select_for_update().get(user=user)
    _set_interests(profile, names)
    return sorted(profile.interests.values_list("name", flat=True))


@transaction.atomic
def onboarding_finish(*, user: UserModel) -> Profile:
    """Mark the welcome steps done (finished or skipped): /welcome/ isn't offered again.
    Idempotent: the first time is kept."""
    profile = Profile.objects.select_for_update().get(user=user)
    if profile.onboarded_at is None:
        profile.onboarded_at = timezone.now()
        profile.save(update_fields=["onboarded_at", "updated_at"])
    return profile


def _set_interests(profile: Profile, names: Iterable[object] | None) -> None:
    cleaned: list[str] = []
    for name in names or []:
        name = " ".join(str(name).split()).lower()[:40]
        if name and name not in cleaned:
            cleaned.append(name)
    if len(cleaned) > MAX_INTERESTS:
        raise ServiceError(f"At most {MAX_INTERESTS} interests.", fields={"interests": ["Too many."]})
    interests = [Interest.objects.get_or_create(name=name)[0] for name in cleaned]
    profile.interests.set(interests)


@transaction.atomic
def avatar_set(*, user: UserModel, upload: UploadedFile) -> Profile:
    if breakers.is_open("s3"):  # refused at once, as media uploads are
        raise breakers.storage_unavailable()
    files = avatar_from_upload(upload)
    profile = Profile.objects.select_for_update().get(user=user)
    old_names = [profile.avatar.name, profile.avatar_small.name]
    try:
        profile.avatar.save(files.full.name, files.full, save=False)
        profile.avatar_small.save(files.small.name, files.small, save=False)
    except STORAGE_ERRORS as exc:
        raise breakers.storage_unavailable() from exc
    profile.save(update_fields=["avatar", "avatar_small", "updated_at"])
    for name in old_names:
        if name:
            _delete_file_on_commit(name)
    return profile


@transaction.atomic
def avatar_remove(*, user: UserModel) -> Profile:
    profile = Profile.objects.select_for_update().get(user=user)
    if profile.avatar.name:  # what `if profile.avatar` tests, with a name the type checker sees
        _delete_file_on_commit(profile.avatar.name)
        if profile.avatar_small.name:
            _delete_file_on_commit(profile.avatar_small.name)
        profile.avatar = ""
        profile.avatar_small = ""
        profile.save(update_fields=["avatar", "avatar_small", "updated_at"])
    return profile


def _delete_file_on_commit(name: str) -> None:
    from accounts import tasks

    outbox.enqueue(tasks.delete_stored_file, name)


def user_touch_last_active(*, user: UserModel) -> None:
    """Record activity at most once per LAST_ACTIVE_RESOLUTION_SECONDS per user (across processes:
    the shared cache decides), asking the cache at most once per LAST_ACTIVE_MEMO_SECONDS per user
    and process."""
    now = time.monotonic()
    asked = _last_active_asked.get(user.pk)
    if asked is not None and now - asked < LAST_ACTIVE_MEMO_SECONDS:
        return
    if len(_last_active_asked) >= LAST_ACTIVE_MEMO_SIZE:
        _last_active_asked.clear()  # bounded: a full memo starts over (one cache add per user again)
    _last_active_asked[user.pk] = now
    if safe_cache.add(f"last_active:{user.pk}", 1, LAST_ACTIVE_RESOLUTION_SECONDS):
        # Named, so the read replicas' router doesn't count it as the user's write: nobody reads
        # last_active back at once, and their reads may stay on a replica (socialsite/replicas.py).
        User.objects.using(DEFAULT_DB_ALIAS).filter(pk=user.pk).update(last_active=timezone.now())


def users_touch_last_active(*, user_ids: Iterable[UUID]) -> int:
    """The same for many users at once (their open sockets, socialsite.realtime.heartbeat): one
    UPDATE, writing only rows older than the resolution."""
    if not user_ids:
        return 0
    now = timezone.now()
    stale = Q(last_active__isnull=True) | Q(last_active__lt=now - timedelta(seconds=LAST_ACTIVE_RESOLUTION_SECONDS))
    updated: int = User.objects.filter(stale, pk__in=list(user_ids)).update(last_active=now)
    return updated


@transaction.atomic
def user_sign_out_everywhere(*, user: UserModel) -> None:
    """Log out every session and app of this user: raising the epoch changes the credentials stamp
    that sessions and JWTs carry (accounts/tokens.py). The caller keeps a session it still wants
    with update_session_auth_hash."""
    User.objects.filter(pk=user.pk).update(token_epoch=F("token_epoch") + 1)
    user.refresh_from_db(fields=["token_epoch"])
    user_credentials_changed(user=user)


def user_credentials_changed(*, user: UserModel) -> None:
    """After a password change, a reset or "log out everywhere": the stamp already refuses every
    older session and token; end their sign-ins and close their open sockets (and SSE streams and
    long-polls, which listen on the same group) now rather than at their next request."""
    tokens.revoke_all(user)
    close_sockets_on_commit([user.pk])


@transaction.atomic
def user_deactivate(*, user: UserModel) -> UserModel:
    """Deactivate the account and erase its personal data; the row stays for references."""
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount

    user = User.objects.select_for_update().get(pk=user.pk)
    for follow in Follow.objects.filter(Q(follower=user) | Q(followed=user)).select_related("follower", "followed"):
        _unfollow(follow)
    FollowRequest.objects.filter(Q(requester=user) | Q(target=user)).delete()
    Block.objects.filter(Q(blocker=user) | Q(blocked=user)).delete()
    Mute.objects.filter(Q(muter=user) | Q(muted=user)).delete()
    EmailAddress.objects.filter(user=user).delete()
    SocialAccount.objects.filter(user=user).delete()
    tokens.revoke_all(user)

    profile = Profile.objects.select_for_update().get(user=user)
    avatar_names = [profile.avatar.name, profile.avatar_small.name]
    profile.display_name = ""
    profile.bio = ""
    profile.profile_info = {}
    profile.avatar = ""
    profile.avatar_small = ""
    profile.is_private = False
    profile.followers_count = 0
    profile.following_count = 0
    profile.save()
    profile.interests.clear()

    user.username = f"deleted-{user.pk.hex[:12]}"
    user.email = None
    user.phone = None
    user.phone_verified = False
    user.first_name = ""
    user.last_name = ""
    user.is_active = False
    user.deactivated_at = timezone.now()
    user.set_unusable_password()
    user.save()
    account_deactivated.send(sender=User, user_id=user.pk)
    for name in avatar_names:
        if name:
            _delete_file_on_commit(name)
    close_sockets_on_commit([user.pk])
    return user


@transaction.atomic
def user_delete(*, user: UserModel) -> None:
    """Remove the account row for good (admins only): erase first, so others' counters stay right."""
    user_deactivate(user=user)
    User.objects.filter(pk=user.pk).delete()


# --- Follows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowOutcome:
    status: str  # "following" | "requested"
    created: bool


def _active_target(user_id: UUID | str) -> UserModel:
    try:
        target: UserModel = User.objects.select_related("profile").get(pk=user_id, is_active=True)
        return target
    except (User.DoesNotExist, DjangoValidationError, ValueError):
        raise NotFoundError("No such user.")


def _follow(follower: UserModel, followed: UserModel, *, via_request: bool = False) -> tuple[Follow, bool]:
    follow, created = Follow.objects.get_or_create(follower=follower, followed=followed)
    if created:
        Profile.objects.filter(user=follower).update(following_count=F("following_count") + 1)
        Profile.objects.filter(user=followed).update(followers_count=F("followers_count") + 1)
        _relationship_changed("follow", follower.pk, followed.pk, via_request=via_request)
    return follow, created


def _relationship_changed(kind: str, user_id: UUID, other_id: UUID, **extra: Any) -> None:
    relationship_changed.send(sender=User, kind=kind, user_id=user_id, other_id=other_id, **extra)


def _request_closed(requester_id: UUID, target_id: UUID) -> None:
    follow_request_closed.send(sender=User, requester_id=requester_id, target_id=target_id)


def _unfollow(follow: Follow) -> None:
    Profile.objects.filter(user_id=follow.follower_id).update(following_count=F("following_count") - 1)
    Profile.objects.filter(user_id=follow.followed_id).update(followers_count=F("followers_count") - 1)
    follow.delete()
    _relationship_changed("unfollow", follow.follower_id, follow.followed_id)


def _approve(follow_request: FollowRequest) -> Follow:
    follow, created = _follow(follow_request.requester, follow_request.target, via_request=True)
    follow_request.delete()
    _request_closed(follow_request.requester_id, follow_request.target_id)
    if created:
        send_event_on_commit(
            [follow_request.requester_id],
            "follow.accepted",
            {"user": _user_summary(follow_request.target)},
        )
    return follow


@transaction.atomic
def follow_create(*, follower: UserModel, followed_user_id: UUID | str) -> FollowOutcome:
    """Follow, or ask to follow a private account. Idempotent."""
    followed = _active_target(followed_user_id)
    if followed.pk == follower.pk:
        raise ServiceError("You can't follow yourself.", code="self_follow")
    if selectors.blocked_between(follower, followed):
        raise ForbiddenError("You can't follow this account.", code="blocked")
    if Follow.objects.filter(follower=follower, followed=followed).exists():
        return FollowOutcome("following", created=False)
    if followed.profile.is_private:
        _, created = FollowRequest.objects.get_or_create(requester=follower, target=followed)
        if created:
            send_event_on_commit([followed.pk], "follow_request.new", {"user": _user_summary(follower)})
            follow_requested.send(sender=User, requester_id=follower.pk, target_id=followed.pk)
        return FollowOutcome("requested", created=created)
    _, created = _follow(follower, followed)
    if created:
        send_event_on_commit([followed.pk], "follow.new", {"user": _user_summary(follower)})
    return FollowOutcome("following", created=created)


@transaction.atomic
def follow_delete(*, follower: UserModel, followed_user_id: UUID) -> bool:
    """Unfollow, or withdraw a pending request. Idempotent; returns whether anything changed."""
    follow = Follow.objects.select_for_update().filter(follower=follower, followed_id=followed_user_id).first()
    withdrawn, _ = FollowRequest.objects.filter(requester=follower, target_id=followed_user_id).delete()
    if withdrawn:
        _request_closed(follower.pk, followed_user_id)
    if follow:
        _unfollow(follow)
    return bool(follow or withdrawn)


@transaction.atomic
def follower_remove(*, user: UserModel, follower_user_id: UUID) -> None:
    """The owner removes someone from their followers."""
    follow = Follow.objects.select_for_update().filter(follower_id=follower_user_id, followed=user).first()
    if not follow:
        raise NotFoundError("That account doesn't follow you.")
    _unfollow(follow)


def _own_request(target: UserModel, request_id: int | str) -> FollowRequest:
    try:
        return (
            FollowRequest.objects.select_for_update(of=("self",))
            .select_related("requester__profile")
            .get(pk=int(request_id), target=target)
        )
    except (FollowRequest.DoesNotExist, ValueError, TypeError):
        raise NotFoundError("No such follow request.")


@transaction.atomic
def follow_request_approve(*, target: UserModel, request_id: int | str) -> Follow:
    return _approve(_own_request(target, request_id))


@transaction.atomic
def follow_request_reject(*, target: UserModel, request_id: int | str) -> None:
    follow_request = _own_request(target, request_id)
    follow_request.delete()
    _request_closed(follow_request.requester_id, target.pk)


# --- Blocks and mutes ------------------------------------------------------------------------------


@transaction.atomic
def block_create(*, blocker: UserModel, blocked_user_id: UUID | str) -> tuple[Block, bool]:
    """Block: end follows and requests both ways. Idempotent."""
    blocked = _active_target(blocked_user_id)
    if blocked.pk == blocker.pk:
        raise ServiceError("You can't block yourself.", code="self_block")
    block, created = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    for follow in Follow.objects.filter(
        Q(follower=blocker, followed=blocked) | Q(follower=blocked, followed=blocker)
    ).select_for_update():
        _unfollow(follow)
    for follow_request in FollowRequest.objects.filter(
        Q(requester=blocker, target=blocked) | Q(requester=blocked, target=blocker)
    ):
        follow_request.delete()
        _request_closed(follow_request.requester_id, follow_request.target_id)
    if created:
        _relationship_changed("block", blocker.pk, blocked.pk)
    return block, created


@transaction.atomic
def block_delete(*, blocker: UserModel, blocked_user_id: UUID) -> bool:
    deleted, _ = Block.objects.filter(blocker=blocker, blocked_id=blocked_user_id).delete()
    if deleted:
        _relationship_changed("unblock", blocker.pk, blocked_user_id)
    return bool(deleted)


@transaction.atomic
def mute_create(*, muter: UserModel, muted_user_id: UUID | str) -> tuple[Mute, bool]:
    muted = _active_target(muted_user_id)
    if muted.pk == muter.pk:
        raise ServiceError("You can't mute yourself.", code="self_mute")
    mute, created = Mute.objects.get_or_create(muter=muter, muted=muted)
    if created:
        _relationship_changed("mute", muter.pk, muted.pk)
    return mute, created


@transaction.atomic
def mute_delete(*, muter: UserModel, muted_user_id: UUID) -> bool:
    deleted, _ = Mute.objects.filter(muter=muter, muted_id=muted_user_id).delete()
    if deleted:
        _relationship_changed("unmute", muter.pk, muted_user_id)
    return bool(deleted)


# --- Suspension (moderators) ----------------------------------------------------------------
# The account's side of a suspension. Moderators reach it from posts.moderation (a report) or the
# user's admin page; posts records the audit row and the counters on account_suspended.

MODERATION_REASON_MAX_CHARS = 1000


def check_may_moderate(*, moderator: UserModel, user: UserModel) -> None:
    """Nobody acts on their own account; only a superuser on staff; a deactivated account is gone."""
    if user.pk == moderator.pk:
        raise ForbiddenError("You can't act on your own account.", code="own_account")
    if (user.is_staff or user.is_superuser) and not moderator.is_superuser:
        raise ForbiddenError("Only a superuser can act on staff accounts.", code="staff_account")
    if user.deactivated_at is not None:
        raise ServiceError("This account is deactivated.", code="deactivated")


def check_moderation_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Give a reason.", fields={"reason": ["This field may not be blank."]})
    if len(reason) > MODERATION_REASON_MAX_CHARS:
        message = f"At most {MODERATION_REASON_MAX_CHARS} characters."
        raise ServiceError(message, code="too_long", fields={"reason": [message]})
    return reason


@transaction.atomic
def user_suspend(*, user: UserModel, moderator: UserModel, reason: str | None, report: object = None) -> UserModel:
    """Suspend an account: it can't sign in, its tokens are revoked and its sockets close; its open
    sessions find it suspended at their next request (accounts.middleware). Nothing is erased, so
    user_unsuspend undoes it. Suspending a suspended account again is recorded again."""
    reason = check_moderation_reason(reason)
    user = User.objects.select_for_update().get(pk=user.pk)
    check_may_moderate(moderator=moderator, user=user)
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    tokens.revoke_all(user)
    close_sockets_on_commit([user.pk])
    account_suspended.send(sender=User, user=user, moderator=moderator, reason=reason, report=report)
    return user


@transaction.atomic
def user_unsuspend(*, user: UserModel, moderator: UserModel, reason: str | None, report: object = None) -> UserModel:
    """Lift a suspension. Deactivated accounts stay deactivated."""
    reason = check_moderation_reason(reason)
    user = User.objects.select_for_update().get(pk=user.pk)
    check_may_moderate(moderator=moderator, user=user)
    if user.is_active:
        raise ServiceError("This account isn't suspended.", code="not_suspended")
    user.is_active = True
    user.save(update_fields=["is_active"])
    account_unsuspended.send(sender=User, user=user, moderator=moderator, reason=reason, report=report)
    return user

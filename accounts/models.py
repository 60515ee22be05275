from __future__ import annotations

import uuid
from typing import Any, ClassVar, Self

from django.conf import settings
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac
from phonenumber_field.modelfields import PhoneNumberField


class UserQuerySet(models.QuerySet["User"]):
    def update(self, **kwargs: Any) -> int:
        # Saves and deletes send signals; an update sends none, so it tells the auth cache itself
        # which rows changed (one more query). last_active alone changes every few minutes per
        # user and nothing authenticates by it: left out.
        if set(kwargs) <= {"last_active"}:
            return super().update(**kwargs)
        from accounts import user_cache

        if not user_cache.enabled():
            return super().update(**kwargs)
        with transaction.atomic(using=self.db):
            pks = list(self.values_list("pk", flat=True))
            count = super().update(**kwargs)
        user_cache.invalidate(pks)
        return count

    def visible_to(self, viewer: User | AnonymousUser | None) -> Self:
        """Active accounts the viewer may see: not deactivated, and not blocking the viewer."""
        qs = self.filter(is_active=True)
        if viewer is not None and viewer.is_authenticated:
            qs = qs.exclude(Exists(Block.objects.filter(blocker=OuterRef("pk"), blocked=viewer)))
        return qs

    def findable_by(self, viewer: User | AnonymousUser | None) -> Self:
        """Who people search and @mention autocomplete may offer the viewer: those visible_to them,
        less the accounts they blocked (blocks hide either way; the profile page stays reachable
        to unblock)."""
        qs = self.visible_to(viewer)
        if viewer is not None and viewer.is_authenticated:
            qs = qs.exclude(Exists(Block.objects.filter(blocker=viewer, blocked=OuterRef("pk"))))
        return qs


class UserManager(DjangoUserManager["User"]):
    # Spelled out, not from_queryset: the type plugin resolves a module-level from_queryset of
    # Django's UserManager only in some checking orders, so mypy failed on a cold cache now and then.
    def get_queryset(self) -> UserQuerySet:
        return UserQuerySet(self.model, using=self._db)

    def visible_to(self, viewer: User | AnonymousUser | None) -> UserQuerySet:
        return self.get_queryset().visible_to(viewer)

    def findable_by(self, viewer: User | AnonymousUser | None) -> UserQuerySet:
        return self.get_queryset().findable_by(viewer)

    def _create_user(self, username, email, password, **extra_fields):
        user = super()._create_user(username, email, password, **extra_fields)
        Profile.objects.get_or_create(user=user)
        return user

    def get_by_natural_key(self, username):
        return self.get(username__iexact=username)


class User(AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    username = models.CharField(
        max_length=30,
        unique=True,
        help_text="3 to 30 letters, digits and @/./+/-/_ only. Unique regardless of case.",
        validators=[UnicodeUsernameValidator()],
    )
    # Nullable so an erased (deleted) account frees its address; unique when set.
    email = models.EmailField(null=True, blank=True)  # type: ignore[assignment]  # str | None on purpose
    phone = PhoneNumberField(null=True, blank=True, help_text="E.164, e.g. +14155550123")
    phone_verified = models.BooleanField(default=False)
    last_active = models.DateTimeField(null=True, blank=True, db_index=True)
    # A deactivated account keeps its row (for foreign keys) but none of its personal data.
    deactivated_at = models.DateTimeField(null=True, blank=True)
    # Raised to sign out every session and token at once ("log out everywhere"): it is part of the
    # credentials stamp every session and JWT carries (accounts/tokens.py), as the password is.
    token_epoch = models.PositiveIntegerField(default=0, db_default=0)  # db_default: raw inserts (benchmarks)

    objects: ClassVar[UserManager] = UserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.UniqueConstraint(fields=["phone"], name="accounts_user_phone_unique"),
        ]

    def __str__(self):
        return self.username

    def _get_session_auth_hash(self, secret=None):
        # Django's hash of the password, with the epoch once it was raised (so raising it ends every
        # session, and sessions made before the epoch existed stay valid).
        value = self.password if not self.token_epoch else f"{self.password}:{self.token_epoch}"
        key_salt = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()

    def save(self, *args, **kwargs):
        # allauth and forms write "" for "no email"; NULL keeps the unique index honest.
        if not self.email:
            self.email = None
        super().save(*args, **kwargs)


class Interest(models.Model):
    name = models.CharField(max_length=40, unique=True)

    def __str__(self):
        return self.name


def avatar_upload_to(profile, filename):
    return f"avatars/{profile.user_id}/{uuid.uuid4().hex}.webp"


def avatar_small_upload_to(profile, filename):
    return f"avatars/{profile.user_id}/{uuid.uuid4().hex}-small.webp"


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    display_name = models.CharField(max_length=50, blank=True)
    bio = models.CharField(max_length=300, blank=True)
    avatar = models.ImageField(upload_to=avatar_upload_to, blank=True)
    # The same photo at AVATAR_SMALL_SIZE, for the small avatars; empty for avatars set before it
    # existed, which show `avatar` instead (templates/includes/avatar.html).
    # db_default: the benchmarks COPY profiles in without naming it (as Post.spoiler_text).
    avatar_small = models.ImageField(upload_to=avatar_small_upload_to, blank=True, default="", db_default="")
    interests = models.ManyToManyField(Interest, blank=True, related_name="profiles")
    profile_info = models.JSONField(default=dict, blank=True)
    is_private = models.BooleanField(default=False, help_text="Followers must be approved.")
    followers_count = models.PositiveIntegerField(default=0)
    following_count = models.PositiveIntegerField(default=0)
    # When the owner finished or skipped the welcome steps (/welcome/); null: not yet, and
    # sign-up leads there. Accounts made before onboarding existed count as done (migration).
    onboarded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"profile of {self.user}"

    @property
    def name(self):
        return self.display_name or self.user.username


class Follow(models.Model):
    follower = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following_set")
    followed = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follower_set")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followed"], name="accounts_follow_unique_pair"),
            models.CheckConstraint(condition=~Q(follower=models.F("followed")), name="accounts_follow_not_self"),
        ]
        indexes = [models.Index(fields=["followed", "-created_at"], name="accounts_follow_followed_idx")]

    def __str__(self):
        return f"{self.follower} → {self.followed}"


class FollowRequest(models.Model):
    """A pending follow of a private account, until its owner approves or rejects it."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sent_follow_requests"
    )
    target = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follow_requests")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["requester", "target"], name="accounts_followrequest_unique_pair"),
            models.CheckConstraint(condition=~Q(requester=models.F("target")), name="accounts_followrequest_not_self"),
        ]

    def __str__(self):
        return f"{self.requester} ⇢ {self.target}"


class Block(models.Model):
    blocker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="accounts_block_unique_pair"),
            models.CheckConstraint(condition=~Q(blocker=models.F("blocked")), name="accounts_block_not_self"),
        ]

    def __str__(self):
        return f"{self.blocker} ⊘ {self.blocked}"


class Mute(models.Model):
    muter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mutes_made")
    muted = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mutes_received")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["muter", "muted"], name="accounts_mute_unique_pair"),
            models.CheckConstraint(condition=~Q(muter=models.F("muted")), name="accounts_mute_not_self"),
        ]

    def __str__(self):
        return f"{self.muter} mutes {self.muted}"


class TokenFamily(models.Model):
    """One JWT sign-in (a device): the refresh tokens rotated from one log-in.

    Only the latest refresh token of a family works. Presenting an older one means it was copied:
    the family is deleted, so neither the thief's nor the owner's tokens refresh again. Logging
    out deletes the family; so do a password change, "log out everywhere" and deactivation.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="token_families")
    current_jti = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    refreshed_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name_plural = "token families"

    def __str__(self):
        return f"{self.user_id} since {self.created_at:%Y-%m-%d}"

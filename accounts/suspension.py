"""Who is suspended, and the proof a suspended person carries to the page that tells them why.

A suspended account is inactive but not deactivated (moderators suspend, owners deactivate).
It can't sign in, so the page that shows the reason and takes an appeal (posts' "suspended"
page) can't ask for a session. It takes a short-lived signed token instead, handed out only to
someone who just proved to be the account: a correct password (web or API log-in, allauth's
inactive-account step covers codes and social sign-in too), or a session of the account that
was still open when it was suspended. The token names the account and its credentials stamp,
so it can't be made for someone else, and a password reset or "log out everywhere" voids it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeGuard

from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core import signing
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import urlencode

from accounts.tokens import credentials_stamp

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpRequest

    from accounts.models import User

SALT = "accounts.suspended"
TOKEN_MAX_AGE = 30 * 60  # seconds: long enough to read the page and write an appeal
PAGE = "moderation_suspended"  # the URL name of the page (posts owns it)


def is_suspended(user: User | AnonymousUser | None) -> TypeGuard[User]:
    return user is not None and user.pk is not None and not user.is_active and user.deactivated_at is None


def token_for(user: User) -> str:
    return signing.dumps({"u": str(user.pk), "c": credentials_stamp(user)}, salt=SALT)


def user_for(token: object) -> User | None:
    """The suspended account the token was made for, or None (forged, expired, stale, lifted)."""
    try:
        data = signing.loads(str(token or ""), salt=SALT, max_age=TOKEN_MAX_AGE)
        user = get_user_model().objects.filter(pk=data["u"]).first()
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if not is_suspended(user) or not constant_time_compare(str(data.get("c", "")), credentials_stamp(user)):
        return None
    return user


def page_url(user: User) -> str:
    return f"{reverse(PAGE)}?{urlencode({'t': token_for(user)})}"


def session_user(request: HttpRequest) -> User | None:
    """The suspended account whose session this still is (the middleware reads it as signed out), or None."""
    user_id = request.session.get(SESSION_KEY)
    if user_id is None:
        return None
    try:
        user = get_user_model().objects.filter(pk=get_user_model()._meta.pk.to_python(user_id)).first()
    except Exception:  # a malformed id in the session
        return None
    if not is_suspended(user):
        return None
    if not constant_time_compare(request.session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()):
        return None
    return user

"""The API's second factor: a log-in of an account with two-factor authentication gets a challenge,
and the challenge plus a code gets the JWT pair.

The codes are allauth.mfa's: its AuthenticateForm checks them (the web's 2FA page uses the same
form), so a TOTP code is good once (allauth remembers used codes in the cache for a period), a
recovery code once ever, and failed codes count against allauth's per-account `login_failed`
limit. WebAuthn can't answer with a code; an account whose only second factor is a security key
signs in to apps by passkey on the web only (403 `mfa_required`).

A challenge is a signed token (django.core.signing, SECRET_KEY) naming the account and its
credentials stamp (accounts/tokens.py), with a random id; no row holds it:

- it expires after MFA_CHALLENGE_SECONDS (401 `challenge_expired`);
- a password change, "log out everywhere" or a deactivation changes the stamp and voids it;
- it is good for one sign-in: the id is marked spent in the cache (`cache.add`, one winner);
- it takes MFA_CHALLENGE_ATTEMPTS codes at most (an atomic counter), then it is spent.
Anything else wrong with it (tampered, spent, another key) answers 401 `challenge_invalid`.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from allauth.mfa import signals
from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.cache import cache

from accounts.tokens import credentials_stamp
from socialsite.api.throttling import parse_rate
from socialsite.errors import ForbiddenError, UnauthorizedError
from socialsite.ratelimit import RateLimitedError

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.models import User

SALT = "accounts.second_factor.challenge"
# The ones a code can answer, in the order an app should offer them.
CODE_TYPES = [Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
INVALID = "This sign-in step is no longer valid. Sign in again."


def second_factor_required(user: User) -> bool:
    """Whether signing in needs a second factor: as allauth's 2FA stage on the web decides
    (an authenticator app or a security key; recovery codes alone don't turn it on)."""
    enabled: bool = is_mfa_enabled(user, [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN])
    return enabled


def challenge_issue(*, user: User) -> dict[str, Any]:
    """{challenge, types, expires_in} for an account whose password (or SMS code, or provider)
    was right; ForbiddenError when none of its second factors can answer with a code."""
    present = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    types = [kind.value for kind in CODE_TYPES if kind in present]
    if not types:
        raise ForbiddenError(
            "This account's second factor is a security key; sign in on the web with it.", code="mfa_required"
        )
    payload = {"u": str(user.pk), "c": credentials_stamp(user), "j": secrets.token_urlsafe(12)}
    return {
        "challenge": signing.dumps(payload, salt=SALT, compress=True),
        "types": types,
        "expires_in": settings.MFA_CHALLENGE_SECONDS,
    }


def _spent_key(jti: str) -> str:
    return f"accounts:mfa-challenge:{jti}:spent"


def _attempts_key(jti: str) -> str:
    return f"accounts:mfa-challenge:{jti}:attempts"


def _load(challenge: str) -> tuple[User, str]:
    try:
        payload = signing.loads(challenge, salt=SALT, max_age=settings.MFA_CHALLENGE_SECONDS)
    except signing.SignatureExpired:
        raise UnauthorizedError("This sign-in step expired. Sign in again.", code="challenge_expired")
    except signing.BadSignature:
        raise UnauthorizedError(INVALID, code="challenge_invalid")
    if not isinstance(payload, dict) or not {"u", "c", "j"} <= set(payload):
        raise UnauthorizedError(INVALID, code="challenge_invalid")
    if cache.get(_spent_key(payload["j"])):
        raise UnauthorizedError(INVALID, code="challenge_invalid")
    user = get_user_model().objects.filter(pk=payload["u"], is_active=True).first()
    if user is None or credentials_stamp(user) != payload["c"]:
        raise UnauthorizedError(INVALID, code="challenge_invalid")
    return user, payload["j"]


def _attempt(jti: str) -> bool:
    """Count one code against the challenge; False once its attempts are spent."""
    timeout = settings.MFA_CHALLENGE_SECONDS + 1
    cache.add(_attempts_key(jti), 0, timeout=timeout)
    try:
        used = cache.incr(_attempts_key(jti))
    except ValueError:  # expired between add and incr: so did the challenge
        return False
    if used > settings.MFA_CHALLENGE_ATTEMPTS:
        cache.set(_spent_key(jti), True, timeout=timeout)
        return False
    return True


def challenge_verify(*, request: HttpRequest, challenge: str, code: str) -> User:
    """The account a challenge and its code sign in (the challenge is spent), or a 401/429."""
    user, jti = _load(challenge)
    if not _attempt(jti):
        raise UnauthorizedError("Too many wrong codes. Sign in again.", code="challenge_invalid")
    form = AuthenticateForm(user=user, data={"code": code})  # needs allauth's context.request (its middleware)
    if not form.is_valid():
        codes = {error.code for error in form.errors.as_data().get("code", [])}
        if "too_many_login_attempts" in codes:
            raise RateLimitedError(
                "Too many wrong codes. Try again later.", retry_after=parse_rate(settings.THROTTLE_LOGIN)[1]
            )
        raise UnauthorizedError("The code is wrong or was already used.", code="invalid_code")
    if not cache.add(_spent_key(jti), True, timeout=settings.MFA_CHALLENGE_SECONDS + 1):
        raise UnauthorizedError(INVALID, code="challenge_invalid")  # a concurrent code won
    authenticator = form.authenticator
    authenticator.record_usage()
    # As allauth's post_authentication, without its session record (an app has no session).
    signals.authenticator_used.send(
        sender=Authenticator,
        request=request,
        user=user,
        authenticator=authenticator,
        reauthenticated=False,
        passwordless=False,
    )
    return user

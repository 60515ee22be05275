"""JWT pairs for the API: issued per sign-in (a token family), rotated once, revoked as a whole.

Every token carries two claims of ours besides simplejwt's:

- `fam`: the TokenFamily (one sign-in) a refresh token belongs to. Only the family's latest
  refresh token refreshes. The row is locked while a token rotates, so of N concurrent uses of
  one refresh token exactly one succeeds; the others find it already rotated, which is how a
  stolen copy looks, and delete the family (RFC 9700 §4.14.2, refresh token reuse detection).
- `cred`: the user's credentials stamp, from the password and `User.token_epoch` (the session
  hash Django already checks for sessions). A password change, "log out everywhere" or a
  deactivation changes it, and every access and refresh token issued before is refused at once.
"""

import uuid

from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import TokenFamily
from socialsite.errors import UnauthorizedError

FAMILY_CLAIM = "fam"
CREDENTIALS_CLAIM = "cred"
INVALID = "The refresh token is invalid, expired or already used."


def credentials_stamp(user):
    return user.get_session_auth_hash()[:16]


def stamp_matches(token, user):
    return token.get(CREDENTIALS_CLAIM) == credentials_stamp(user)


def _pair(user, family):
    refresh = RefreshToken.for_user(user)
    refresh[FAMILY_CLAIM] = str(family.pk)
    refresh[CREDENTIALS_CLAIM] = credentials_stamp(user)  # copied into the access token
    family.current_jti = refresh["jti"]
    family.save()
    return str(refresh), str(refresh.access_token)


@transaction.atomic
def issue_pair(user):
    """(refresh, access) for a new sign-in."""
    return _pair(user, TokenFamily.objects.create(user=user))


def rotate(raw_refresh):
    """(refresh, access) for a refresh token, which is spent; UnauthorizedError if it can't be."""
    token = _decode(raw_refresh)
    with transaction.atomic():
        family = (
            TokenFamily.objects.select_for_update().select_related("user").filter(pk=token.get(FAMILY_CLAIM)).first()
        )
        if family is None:  # logged out, revoked, or never ours
            raise UnauthorizedError(INVALID, code="token_not_valid")
        user = family.user
        if family.current_jti == token["jti"] and user.is_active and stamp_matches(token, user):
            return _pair(user, family)
        # A spent token again (copied, or raced by its owner), or the credentials changed: the
        # family ends. Committed before answering, so the new token of the winner dies too.
        family.delete()
    raise UnauthorizedError(INVALID, code="token_not_valid")


def access_token(user):
    """An access token alone, with no sign-in recorded (benchmarks and tests)."""
    token = AccessToken.for_user(user)
    token[CREDENTIALS_CLAIM] = credentials_stamp(user)
    return str(token)


def revoke(raw_refresh):
    """Log out the sign-in this refresh token belongs to."""
    token = _decode(raw_refresh)
    if not TokenFamily.objects.filter(pk=token.get(FAMILY_CLAIM), current_jti=token["jti"]).delete()[0]:
        raise UnauthorizedError(INVALID, code="token_not_valid")


def revoke_all(user):
    """End every sign-in of this user (their access tokens die with the stamp, see module doc)."""
    TokenFamily.objects.filter(user=user).delete()


def _decode(raw_refresh):
    try:
        token = RefreshToken(raw_refresh)
    except TokenError:  # bad signature, expired, not a refresh token
        raise UnauthorizedError(INVALID, code="token_not_valid") from None
    try:
        uuid.UUID(str(token.get(FAMILY_CLAIM)))
    except ValueError:  # signed by us, but before families existed
        raise UnauthorizedError(INVALID, code="token_not_valid") from None
    return token


def prune_expired():
    """Delete the families whose latest refresh token has expired; how many."""
    lifetime = api_settings.REFRESH_TOKEN_LIFETIME
    return TokenFamily.objects.filter(refreshed_at__lt=timezone.now() - lifetime).delete()[0]

import time

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from accounts import tokens, user_cache
from accounts.services import user_touch_last_active

VALIDATED_MAX = 4096  # tokens remembered per process (those of the callers of the last minutes)
# A token's text (a header's bytes, a socket's str): (its exp, the validated token).
_validated: dict[bytes | str, tuple[float, Token]] = {}


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's bearer auth, refusing tokens issued before the user's credentials last changed
    (accounts/tokens.py), and marking the user active (throttled per user).

    The user comes from the auth cache (accounts/user_cache.py): no query once warm, and a
    suspension, password change or "log out everywhere" reaches it at once."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            user_touch_last_active(user=result[0])
        return result

    def get_validated_token(self, raw_token):
        # The same text validates the same way until it expires: decoding it again (PyJWT: the
        # signature and the claims) was a tenth of a post detail read's CPU. Revocation is
        # get_user's (stamp_matches), still checked on every request.
        found = _validated.get(raw_token)
        if found is not None and time.time() < found[0]:
            return found[1]
        token = super().get_validated_token(raw_token)
        if len(_validated) >= VALIDATED_MAX:
            _validated.clear()  # bounded: a full memo starts over
        _validated[raw_token] = (float(token["exp"]), token)
        return token

    def get_user(self, validated_token):
        # simplejwt's get_user (same errors), reading through the cache.
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError:
            raise InvalidToken(_("Token contained no recognizable user identification")) from None
        user = user_cache.get(user_id)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if not tokens.stamp_matches(validated_token, user):
            raise AuthenticationFailed("The token was revoked: sign in again.", code="token_not_valid")
        return user


class JWTAuthenticationScheme(SimpleJWTScheme):
    """Documents JWTAuthentication as bearer auth in the OpenAPI schema."""

    target_class = "accounts.api.authentication.JWTAuthentication"

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed

from accounts import tokens
from accounts.services import user_touch_last_active


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's bearer auth, refusing tokens issued before the user's credentials last changed
    (accounts/tokens.py), and marking the user active (throttled per user)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            user_touch_last_active(user=result[0])
        return result

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if not tokens.stamp_matches(validated_token, user):
            raise AuthenticationFailed("The token was revoked: sign in again.", code="token_not_valid")
        return user


class JWTAuthenticationScheme(SimpleJWTScheme):
    """Documents JWTAuthentication as bearer auth in the OpenAPI schema."""

    target_class = "accounts.api.authentication.JWTAuthentication"

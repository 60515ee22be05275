from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication

from accounts.services import user_touch_last_active


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's bearer auth, also marking the user active (throttled per user)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            user_touch_last_active(user=result[0])
        return result


class JWTAuthenticationScheme(SimpleJWTScheme):
    """Documents JWTAuthentication as bearer auth in the OpenAPI schema."""

    target_class = "accounts.api.authentication.JWTAuthentication"

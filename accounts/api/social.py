"""Mobile social sign-in: the app posts the provider's token and gets our JWT pair back.

The token is verified by allauth's provider (`verify_token`) and the login is completed
by allauth's own social login flow, exactly as allauth's headless token endpoint does:
an existing social account signs its user in, a new one is auto signed up through our
SocialAccountAdapter (with a profile), and a verified email matching an account is
connected per SOCIALACCOUNT_EMAIL_AUTHENTICATION*. Only the answer differs: our JWT pair.
"""

from contextlib import contextmanager
from importlib import import_module

from allauth.account.internal import stagekit
from allauth.core.exceptions import ImmediateHttpResponse, SignupClosedException
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.internal.flows.login import complete_login
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.base import AuthProcess
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import serializers as s
from accounts.api.views import errors, token_pair
from socialsite.api.errors import error_body
from socialsite.api.throttling import LoginIPThrottle

PROVIDERS = ("google", "apple", "facebook")


@contextmanager
def _throwaway_session(request):
    """Run allauth's session-based flow on a session that is never sent back.

    allauth logs the user in with Django's session; this is a token API, so the flow gets
    an anonymous user and a fresh session, which is discarded afterwards. Whatever session
    and user the request came with are put back untouched.
    """
    original_session, original_user = getattr(request, "session", None), getattr(request, "user", None)
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    request.user = AnonymousUser()
    try:
        yield
    finally:
        request.session.flush()
        request.session, request.user = original_session, original_user


class SocialLoginView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [LoginIPThrottle]

    @extend_schema(
        operation_id="auth_social_login",
        parameters=[OpenApiParameter("provider", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(PROVIDERS))],
        request=s.SocialTokenInput,
        responses={200: s.TokenPairOutput, **errors(400, 401, 403, 404, 409, 429)},
        tags=["auth"],
        description=(
            "Exchange a provider token for our JWT pair. Google and Apple: `id_token`; "
            "Facebook: `access_token` (or a Limited Login `id_token`). A new account is created "
            "on first sign-in; a verified email that matches an account connects to it."
        ),
    )
    def post(self, request, provider):
        data = s.SocialTokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        django_request = request._request
        try:
            if provider not in PROVIDERS:
                raise SocialApp.DoesNotExist
            social_provider = get_adapter(django_request).get_provider(django_request, provider)
        except SocialApp.DoesNotExist:
            return Response(error_body("not_found", f"Sign-in with {provider!r} is not available."), status=404)

        try:
            sociallogin = social_provider.verify_token(django_request, dict(data.validated_data))
        except (ValidationError, KeyError):
            # KeyError: allauth's JWT helper reads the header's "kid" without a check.
            return Response(
                error_body("invalid_token", f"The {social_provider.name} token is invalid or expired."), status=401
            )
        sociallogin.state["process"] = AuthProcess.LOGIN

        with _throwaway_session(django_request), transaction.atomic():
            try:
                complete_login(django_request, sociallogin, raises=True)
            except SignupClosedException:
                return Response(error_body("signup_closed", "Sign-up is closed."), status=403)
            except ImmediateHttpResponse:
                pass
            user = django_request.user if django_request.user.is_authenticated else None
            stage = None if user else stagekit.get_pending_stage(django_request)

        if user is not None:
            return Response(token_pair(user))
        if sociallogin.is_existing and not sociallogin.user.is_active:
            return Response(error_body("account_inactive", "This account is deactivated."), status=403)
        if stage is not None and stage.key == "verify_email":
            return Response(
                error_body("email_unverified", "Confirm your email address first; we sent you a link."), status=403
            )
        if stage is not None:
            return Response(error_body("login_incomplete", "Finish signing in on the website."), status=403)
        return Response(
            error_body(
                "signup_required",
                f"An account cannot be created from this {social_provider.name} sign-in: its email address is "
                f"missing or already in use. Sign in to that account and connect {social_provider.name}.",
            ),
            status=409,
        )

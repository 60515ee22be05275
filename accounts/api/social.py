"""Mobile social sign-in: the app posts the provider's token and gets our JWT pair back.

The token is verified by allauth's provider (`verify_token`) and the login is completed
by allauth's own social login flow, exactly as allauth's headless token endpoint does:
an existing social account signs its user in, a new one is auto signed up through our
SocialAccountAdapter (with a profile), and a verified email matching an account is
connected per SOCIALACCOUNT_EMAIL_AUTHENTICATION*. Only the answer differs: our JWT pair.
"""

import copy
from contextlib import contextmanager
from importlib import import_module

from allauth.account.internal import stagekit
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse, SignupClosedException
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.internal.flows.login import complete_login
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.base import AuthProcess
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage import default_storage
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import suspension
from accounts.api import serializers as s
from accounts.api.views import signed_in, suspended_error
from socialsite.api.errors import error_body
from socialsite.api.helpers import error_responses
from socialsite.api.throttling import LoginIPThrottle

PROVIDERS = ("google", "apple", "facebook")


@contextmanager
def _detached(request):
    """A copy of the request for allauth's browser-minded login flow; none of it reaches the response.

    allauth signs the user in to a session, rotates the CSRF token and queues a flash message.
    This is a token API, so the flow runs on a copy with an anonymous user, a fresh session,
    its own CSRF state and message storage, all thrown away afterwards. The caller's own
    session (a browser calling the API, say) is neither read nor changed.
    """
    flow = copy.copy(request)
    flow.META = request.META.copy()
    flow.session = import_module(settings.SESSION_ENGINE).SessionStore()
    flow.user = AnonymousUser()
    flow._messages = default_storage(flow)
    try:
        with context.request_context(flow):
            yield flow
    finally:
        flow.session.flush()


class SocialLoginView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [LoginIPThrottle]

    @extend_schema(
        parameters=[OpenApiParameter("provider", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(PROVIDERS))],
        request=s.SocialTokenInput,
        responses={200: s.SignInOutput, **error_responses(400, 401, 403, 404, 409, 429)},
        tags=["auth"],
        description=(
            "Exchange a provider token for our JWT pair. Google and Apple: `id_token`; "
            "Facebook: `access_token` (or a Limited Login `id_token`). A new account is created "
            "on first sign-in; a verified email that matches an account connects to it."
        ),
    )
    def post(self, request, provider):
        django_request = request._request
        try:
            if provider not in PROVIDERS:
                raise SocialApp.DoesNotExist
            social_provider = get_adapter(django_request).get_provider(django_request, provider)
        except SocialApp.DoesNotExist:
            return Response(error_body("not_found", f"Sign-in with {provider!r} is not available."), status=404)
        data = s.SocialTokenInput(data=request.data)
        data.is_valid(raise_exception=True)

        with _detached(django_request) as flow:
            try:
                sociallogin = social_provider.verify_token(flow, dict(data.validated_data))
            except (ValidationError, KeyError):
                # KeyError: allauth's JWT helper reads the header's "kid" unchecked.
                return Response(
                    error_body("invalid_token", f"The {social_provider.name} token is invalid or expired."), status=401
                )
            sociallogin.state["process"] = AuthProcess.LOGIN
            try:
                with transaction.atomic():
                    complete_login(flow, sociallogin, raises=True)
            except SignupClosedException:
                return Response(error_body("signup_closed", "Sign-up is closed."), status=403)
            except (ImmediateHttpResponse, PermissionDenied):
                return Response(error_body("permission_denied", "This sign-in was refused."), status=403)
            user = flow.user if flow.user.is_authenticated else None
            stage = None if user else stagekit.get_pending_stage(flow)

        if user is not None:
            return signed_in(user)
        if stage is not None and stage.key == "mfa_authenticate":  # allauth's 2FA stage: our challenge instead
            return signed_in(stage.login.user)
        if sociallogin.is_existing and suspension.is_suspended(sociallogin.user):
            raise suspended_error(request, sociallogin.user)
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

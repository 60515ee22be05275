"""Thin API entry points: parse input, call a service or selector, shape the output."""

from allauth.account import app_settings as allauth_settings
from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import update_last_login
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import parsers, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import login_codes, second_factor, selectors, services, suspension, tokens
from accounts.api import serializers as s
from accounts.api.helpers import user_from_path
from socialsite import metrics
from socialsite.api.errors import error_body
from socialsite.api.helpers import error_responses, own_user, valid_input
from socialsite.api.pagination import CursorPagination
from socialsite.api.throttling import LoginIPThrottle, SignupIPThrottle, parse_rate
from socialsite.errors import ForbiddenError


def token_pair(user):
    update_last_login(None, user)
    return _pair_body(*tokens.issue_pair(user))


def signed_in(user):
    """The answer to a right password, SMS code or provider token: the JWT pair, or for an account
    with two-factor authentication a challenge for `POST /auth/jwt/mfa` (and no tokens)."""
    if second_factor.second_factor_required(user):
        return Response({"mfa_required": True, **second_factor.challenge_issue(user=user)})
    metrics.LOGINS.labels("api", "success").inc()
    return Response(token_pair(user))


def _pair_body(refresh, access):
    """The answer of log-in and refresh (the names OAuth uses)."""
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "bearer",
        "expires_in": int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()),
    }


def require_verified_email(user):
    mandatory = allauth_settings.EMAIL_VERIFICATION == allauth_settings.EmailVerificationMethod.MANDATORY
    if mandatory and not EmailAddress.objects.filter(user=user, verified=True).exists():
        raise ForbiddenError("Confirm your email address first; we sent you a link.", code="email_unverified")


def suspended_error(request, user):
    """The 403 a suspended account's correct log-in gets: its appeal page, with a short-lived proof."""
    url = request.build_absolute_uri(suspension.page_url(user))
    return ForbiddenError(
        f"This account is suspended. See why and appeal within {suspension.TOKEN_MAX_AGE // 60} minutes: {url}",
        code="account_suspended",
    )


# --- Auth ---------------------------------------------------------------------------------------------------


class RegisterView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [SignupIPThrottle]

    @extend_schema(
        request=s.RegisterInput, responses={201: s.RegisterOutput, **error_responses(400, 409, 429)}, tags=["auth"]
    )
    def post(self, request):
        """Create an account (and its profile); a confirmation email goes to the address."""
        data = valid_input(s.RegisterInput, request)
        user = services.user_register(**data)
        address = EmailAddress.objects.get(user=user, primary=True)
        transaction.on_commit(lambda: address.send_confirmation(request._request, signup=True))
        mandatory = allauth_settings.EMAIL_VERIFICATION == allauth_settings.EmailVerificationMethod.MANDATORY
        body = {
            "id": str(user.pk),
            "email": user.email,
            "username": user.username,
            "status": "pending_verification" if mandatory else "active",
        }
        return Response(s.RegisterOutput(body).data, status=status.HTTP_201_CREATED)


class LoginView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [LoginIPThrottle]

    @extend_schema(
        request=s.LoginInput, responses={200: s.SignInOutput, **error_responses(400, 401, 403, 429)}, tags=["auth"]
    )
    def post(self, request):
        """Sign in with a username, email address or phone number and a password: a new sign-in with its JWT pair, or, for an account with two-factor authentication, `{mfa_required: true, challenge, types, expires_in}` for `POST /auth/jwt/mfa`. Failed log-ins count per account and per address (429)."""
        data = valid_input(s.LoginInput, request)
        # allauth's authenticate, as the web form's: failed log-ins count per account (the
        # adapter's key), in the same limit as the web form's, and a success doesn't count.
        login = data["login"].strip()
        phone = selectors.phone_number(login)  # "+14155550123": a phone account, as on the web
        credentials = {"phone": phone} if phone else {"username": login}
        try:
            user = get_adapter(request._request).authenticate(
                request._request, password=data["password"], **credentials
            )
        except DjangoValidationError:  # too many failed log-ins for this account or address
            response = Response(error_body("throttled", "Too many failed log-ins. Try again later."), status=429)
            response["Retry-After"] = str(parse_rate(settings.THROTTLE_LOGIN)[1])
            return response
        if user is not None and suspension.is_suspended(user):  # the password was right: say so, and where to appeal
            raise suspended_error(request, user)
        if user is None or not user.is_active:  # allauth hands back an inactive account for its own page
            return Response(error_body("invalid_credentials", "Wrong username or password."), status=401)
        require_verified_email(user)
        return signed_in(user)


class LoginCodeRequestView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [LoginIPThrottle]

    @extend_schema(
        request=s.LoginCodeRequestInput,
        responses={202: s.LoginCodeRequestOutput, **error_responses(400, 429)},
        tags=["auth"],
        description="Text a sign-in code to a phone number. The answer is the same whether an account"
        " uses the number or not (a number no account uses gets a notice instead of a code)."
        " Limited per number and per address, together with the web's sign-in by code (429).",
    )
    def post(self, request):
        data = valid_input(s.LoginCodeRequestInput, request)
        login_codes.login_code_request(request=request._request, phone=data["phone"])
        body = {
            "detail": "If an account uses this number, a code is on its way.",
            "expires_in": allauth_settings.LOGIN_BY_CODE_TIMEOUT,
        }
        return Response(s.LoginCodeRequestOutput(body).data, status=status.HTTP_202_ACCEPTED)


class LoginCodeView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [LoginIPThrottle]

    @extend_schema(
        request=s.LoginCodeInput, responses={200: s.SignInOutput, **error_responses(400, 401, 403, 429)}, tags=["auth"]
    )
    def post(self, request):
        """Sign in with a phone number and the code texted to it: a new sign-in with its JWT pair. A code signs in once; a few wrong answers burn it (401 `invalid_code`)."""
        data = valid_input(s.LoginCodeInput, request)
        user = login_codes.login_code_verify(phone=data["phone"], code=data["code"])
        require_verified_email(user)
        return signed_in(user)


class MFAView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [LoginIPThrottle]

    @extend_schema(
        request=s.MFAInput, responses={200: s.TokenPairOutput, **error_responses(400, 401, 429)}, tags=["auth"]
    )
    def post(self, request):
        """Second step of a sign-in with two-factor authentication: the log-in's challenge and a code from the authenticator app or a recovery code. Each code is good once; the challenge is good for one sign-in, 5 minutes and 5 codes."""
        data = valid_input(s.MFAInput, request)
        user = second_factor.challenge_verify(request=request._request, challenge=data["challenge"], code=data["code"])
        metrics.LOGINS.labels("api", "success").inc()
        return Response(token_pair(user))


class RefreshView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [LoginIPThrottle]

    @extend_schema(
        request=s.RefreshTokenInput, responses={200: s.TokenPairOutput, **error_responses(400, 401)}, tags=["auth"]
    )
    def post(self, request):
        """Spend a refresh token for a new pair. A spent token used again ends the sign-in (reuse detection)."""
        data = valid_input(s.RefreshTokenInput, request)
        return Response(_pair_body(*tokens.rotate(data["refresh_token"])))


class LogoutView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []

    @extend_schema(request=s.RefreshTokenInput, responses={204: None, **error_responses(400, 401)}, tags=["auth"])
    def post(self, request):
        """End the sign-in this refresh token belongs to."""
        data = valid_input(s.RefreshTokenInput, request)
        tokens.revoke(data["refresh_token"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutEverywhereView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=None,
        responses={204: None, **error_responses(401)},
        tags=["auth"],
        description="Signs out every session and app of this account, this one included: every refresh"
        " and access token stops working and every open socket, SSE stream and long-poll closes.",
    )
    def post(self, request):
        services.user_sign_out_everywhere(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Users ----------------------------------------------------------------------------------------------------


def user_payload(request, user):
    viewer = request.user
    context = {"request": request}
    user.relationship = selectors.relationship(viewer=viewer, user=user) if viewer.is_authenticated else None
    if viewer.is_authenticated and viewer.pk == user.pk:
        user.email_verified = EmailAddress.objects.filter(user=user, verified=True).exists()
        return s.OwnUserOutput(user, context=context).data
    return s.UserOutput(user, context=context).data


class UserDetailView(APIView):
    def get_permissions(self):
        if self.request.method == "GET":
            return [permissions.AllowAny()]
        return super().get_permissions()

    @extend_schema(
        # The owner's answer adds fields (OwnUserOutput: email, phone, ...) to this one.
        responses={200: s.UserOutput, **error_responses(401, 404)},
        tags=["users"],
        description="Public profile; the owner also sees email and phone. `me` names the caller (401 when signed out).",
    )
    def get(self, request, user_id):
        return Response(user_payload(request, user_from_path(request, user_id)))

    @extend_schema(
        request=s.UserUpdateInput,
        responses={200: s.OwnUserOutput, **error_responses(400, 401, 403)},
        tags=["users"],
        description="Replace the profile: omitted fields take their defaults.",
    )
    def put(self, request, user_id):
        return self._update(request, user_id, partial=False)

    @extend_schema(
        request=s.UserUpdateInput, responses={200: s.OwnUserOutput, **error_responses(400, 401, 403)}, tags=["users"]
    )
    def patch(self, request, user_id):
        """Change some of your profile's fields; the others stay."""
        return self._update(request, user_id, partial=True)

    def _update(self, request, user_id, partial):
        user = own_user(request, user_id)
        data = valid_input(s.UserUpdateInput, request, partial=partial)
        services.profile_update(user=user, **data)
        return Response(user_payload(request, selectors.user_get(viewer=user, user_id=user.pk)))

    @extend_schema(
        responses={204: None, **error_responses(401, 403)},
        tags=["users"],
        description="Deactivate the account and erase its personal data.",
    )
    def delete(self, request, user_id):
        services.user_deactivate(user=own_user(request, user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AvatarView(APIView):
    parser_classes = [parsers.MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": s.AvatarInput},
        responses={200: s.OwnUserOutput, **error_responses(400, 401, 403)},
        tags=["users"],
    )
    def put(self, request, user_id):
        """Set your avatar (multipart `avatar`): decoded, turned upright, cropped to 400×400 and stored as WebP without metadata."""
        user = own_user(request, user_id)
        data = valid_input(s.AvatarInput, request)
        services.avatar_set(user=user, upload=data["avatar"])
        return Response(user_payload(request, selectors.user_get(viewer=user, user_id=user.pk)))

    @extend_schema(responses={204: None, **error_responses(401, 403)}, tags=["users"])
    def delete(self, request, user_id):
        """Remove your avatar."""
        services.avatar_remove(user=own_user(request, user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InterestsView(APIView):
    def _body(self, user, names):
        body = {
            "interests": names,
            "suggested": settings.ONBOARDING_INTERESTS,
            "onboarded_at": user.profile.onboarded_at,
        }
        return s.InterestsOutput(body).data

    @extend_schema(responses={200: s.InterestsOutput, **error_responses(401, 403)}, tags=["users"])
    def get(self, request, user_id):
        """Your interests (`me` only), the curated list the welcome steps offer, and whether you
        finished onboarding."""
        user = own_user(request, user_id)
        return Response(self._body(user, sorted(user.profile.interests.values_list("name", flat=True))))

    @extend_schema(
        request=s.InterestsInput, responses={200: s.InterestsOutput, **error_responses(400, 401, 403)}, tags=["users"]
    )
    def put(self, request, user_id):
        """Replace your interests: names are lowercased and spaces collapsed, duplicates dropped,
        at most 20 of at most 40 characters. Suggestions (`/users/me/suggestions`) then favour
        accounts sharing them."""
        user = own_user(request, user_id)
        data = valid_input(s.InterestsInput, request)
        names = services.interests_set(user=user, names=data["interests"])
        return Response(self._body(user, names))


class OnboardingView(APIView):
    @extend_schema(request=None, responses={200: s.OnboardingOutput, **error_responses(401, 403)}, tags=["users"])
    def post(self, request, user_id):
        """Mark onboarding done (finished or skipped), as the web's "Done": idempotent, the first
        time is kept."""
        profile = services.onboarding_finish(user=own_user(request, user_id))
        return Response(s.OnboardingOutput({"onboarded_at": profile.onboarded_at}).data)


# --- Follows and lists ------------------------------------------------------------------------------------------


class ListView(APIView):
    """A cursor-paginated list of rows rendered through `output`."""

    output: type[serializers.Serializer] = s.ConnectionOutput
    pagination_class = CursorPagination  # also how the schema knows the answer is a page

    def paginate(self, request, queryset, row):
        paginator = CursorPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        data = self.output([row(item) for item in page], many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


class FollowsView(ListView):
    """GET: whom the user follows. POST: the caller follows someone."""

    def get_permissions(self):
        if self.request.method == "GET":
            return [permissions.AllowAny()]
        return super().get_permissions()

    @extend_schema(
        responses={200: s.ConnectionOutput(many=True), **error_responses(403, 404)},
        tags=["follows"],
        description="Accounts this user follows (hidden for private accounts unless you follow them).",
    )
    def get(self, request, user_id):
        user = user_from_path(request, user_id)
        rows = selectors.following_queryset(viewer=request.user, user=user)
        return self.paginate(request, rows, lambda f: {"user": f.followed, "created_at": f.created_at})

    @extend_schema(
        request=s.FollowInput,
        responses={
            200: s.FollowOutput,
            201: s.FollowOutput,
            202: s.FollowOutput,
            **error_responses(400, 401, 403, 404),
        },
        tags=["follows"],
        description="201 on a new follow, 200 if it already existed, 202 with status `requested` for a private account.",
    )
    def post(self, request, user_id):
        user = own_user(request, user_id)
        data = valid_input(s.FollowInput, request)
        outcome = services.follow_create(follower=user, followed_user_id=data["followed_user_id"])
        if outcome.status == "requested":
            code = status.HTTP_202_ACCEPTED
        else:
            code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
        return Response({"followed_user_id": str(data["followed_user_id"]), "status": outcome.status}, status=code)


class FollowDetailView(APIView):
    @extend_schema(
        responses={204: None, **error_responses(401, 403)},
        tags=["follows"],
        description="Unfollow, or withdraw a pending request. Idempotent.",
    )
    def delete(self, request, user_id, followed_user_id):
        services.follow_delete(follower=own_user(request, user_id), followed_user_id=followed_user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FollowersView(ListView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: s.ConnectionOutput(many=True), **error_responses(403, 404)}, tags=["follows"])
    def get(self, request, user_id):
        user = user_from_path(request, user_id)
        rows = selectors.followers_queryset(viewer=request.user, user=user)
        return self.paginate(request, rows, lambda f: {"user": f.follower, "created_at": f.created_at})


class FollowerDetailView(APIView):
    @extend_schema(
        responses={204: None, **error_responses(401, 403, 404)},
        tags=["follows"],
        description="Remove someone from your followers.",
    )
    def delete(self, request, user_id, follower_user_id):
        services.follower_remove(user=own_user(request, user_id), follower_user_id=follower_user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FollowRequestsView(ListView):
    output = s.FollowRequestOutput

    @extend_schema(
        responses={200: s.FollowRequestOutput(many=True), **error_responses(401, 403)},
        tags=["follows"],
        description="Pending requests to follow you.",
    )
    def get(self, request, user_id):
        user = own_user(request, user_id)
        return self.paginate(request, selectors.follow_requests_queryset(user=user), lambda r: r)


class FollowRequestDecisionView(APIView):
    decision = None

    @extend_schema(request=None, responses={204: None, **error_responses(401, 403, 404)}, tags=["follows"])
    def post(self, request, user_id, request_id):
        """Approve or reject a pending follow request to your private account."""
        user = own_user(request, user_id)
        decide = services.follow_request_approve if self.decision == "approve" else services.follow_request_reject
        decide(target=user, request_id=request_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BlocksView(ListView):
    @extend_schema(
        responses={200: s.ConnectionOutput(many=True), **error_responses(401, 403)}, tags=["blocks and mutes"]
    )
    def get(self, request, user_id):
        user = own_user(request, user_id)
        return self.paginate(
            request, selectors.blocks_queryset(user=user), lambda b: {"user": b.blocked, "created_at": b.created_at}
        )

    @extend_schema(
        request=s.BlockInput,
        responses={201: None, 200: None, **error_responses(400, 401, 403, 404)},
        tags=["blocks and mutes"],
    )
    def post(self, request, user_id):
        user = own_user(request, user_id)
        data = valid_input(s.BlockInput, request)
        _, created = services.block_create(blocker=user, blocked_user_id=data["blocked_user_id"])
        return Response(status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class BlockDetailView(APIView):
    @extend_schema(responses={204: None, **error_responses(401, 403)}, tags=["blocks and mutes"])
    def delete(self, request, user_id, blocked_user_id):
        """Unblock an account. Idempotent."""
        services.block_delete(blocker=own_user(request, user_id), blocked_user_id=blocked_user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MutesView(ListView):
    @extend_schema(
        responses={200: s.ConnectionOutput(many=True), **error_responses(401, 403)}, tags=["blocks and mutes"]
    )
    def get(self, request, user_id):
        user = own_user(request, user_id)
        return self.paginate(
            request, selectors.mutes_queryset(user=user), lambda m: {"user": m.muted, "created_at": m.created_at}
        )

    @extend_schema(
        request=s.MuteInput,
        responses={201: None, 200: None, **error_responses(400, 401, 403, 404)},
        tags=["blocks and mutes"],
    )
    def post(self, request, user_id):
        user = own_user(request, user_id)
        data = valid_input(s.MuteInput, request)
        _, created = services.mute_create(muter=user, muted_user_id=data["muted_user_id"])
        return Response(status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class MuteDetailView(APIView):
    @extend_schema(responses={204: None, **error_responses(401, 403)}, tags=["blocks and mutes"])
    def delete(self, request, user_id, muted_user_id):
        """Unmute an account. Idempotent."""
        services.mute_delete(muter=own_user(request, user_id), muted_user_id=muted_user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

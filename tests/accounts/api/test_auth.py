import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone
from freezegun import freeze_time
from rest_framework_simplejwt.tokens import AccessToken

from accounts import services as account_services
from tests.factories import PASSWORD, UserFactory
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db
User = get_user_model()

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/jwt/login"
REFRESH = "/api/v1/auth/jwt/refresh"
LOGOUT = "/api/v1/auth/jwt/logout"


def register(api, **overrides):
    body = {"email": "ana@example.com", "password": "a-Long-pass-123", "username": "ana", **overrides}
    return api.post(REGISTER, body, format="json")


def login(api, username, password=PASSWORD):
    return api.post(LOGIN, {"username": username, "password": password}, format="json")


class TestRegister:
    def test_creates_account_profile_and_sends_confirmation(self, api, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = register(api, profile_info={"website": "https://ana.example"})
        assert response.status_code == 201
        body = response.json()
        user = User.objects.get(username="ana")
        assert body == {"id": str(user.pk), "email": "ana@example.com", "username": "ana", "status": "active"}
        assert user.profile.profile_info == {"website": "https://ana.example"}
        assert user.check_password("a-Long-pass-123")
        assert user.password.startswith("argon2")
        assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ana@example.com"]
        assert mail.outbox[0].subject.startswith("[socialsite]")

    def test_mandatory_verification_reports_pending(self, api, settings):
        settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
        assert register(api).json()["status"] == "pending_verification"

    def test_username_and_email_are_unique_regardless_of_case(self, api):
        UserFactory(username="Ana", email="ANA@example.com")
        error = assert_error(register(api), 400, "invalid")
        assert set(error["fields"]) == {"username", "email"}

    @pytest.mark.parametrize(
        "overrides, field",
        [
            ({"password": "123"}, "password"),
            ({"password": "password"}, "password"),
            ({"email": "not-an-email"}, "email"),
            ({"username": "has space"}, "username"),
            ({"username": "x" * 31}, "username"),
            ({"profile_info": ["not", "an", "object"]}, "profile_info"),
            ({"profile_info": {f"k{i}": "v" for i in range(50)}}, "profile_info"),
        ],
    )
    def test_bad_input_names_the_field(self, api, overrides, field):
        error = assert_error(register(api, **overrides), 400, "invalid")
        assert field in error["fields"]
        assert not User.objects.filter(username="ana").exists()

    def test_missing_fields_and_malformed_json(self, api):
        error = assert_error(api.post(REGISTER, {}, format="json"), 400, "invalid")
        assert {"email", "password", "username"} <= set(error["fields"])
        assert_error(api.post(REGISTER, "{not json", content_type="application/json"), 400, "parse_error")

    def test_signup_is_throttled_per_ip(self, api, monkeypatch):
        from socialsite.api.throttling import SignupIPThrottle

        monkeypatch.setattr(SignupIPThrottle, "THROTTLE_RATES", {"signup": "2/30m"})
        assert register(api, username="a1", email="a1@example.com").status_code == 201
        assert register(api, username="a2", email="a2@example.com").status_code == 201
        response = register(api, username="a3", email="a3@example.com")
        assert_error(response, 429, "throttled")
        assert int(response["Retry-After"]) > 0


class TestLogin:
    def test_username_or_email(self, api, user):
        for name in (user.username, user.email, user.username.upper()):
            response = login(api, name)
            assert response.status_code == 200, name
            body = response.json()
            assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
            assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60
            assert AccessToken(body["access_token"])["user_id"] == str(user.pk)

    def test_login_is_the_documented_field_and_username_still_works(self, api, user):
        for field in ("login", "username"):
            for name in (user.username, user.email):
                response = api.post(LOGIN, {field: name, "password": PASSWORD}, format="json")
                assert response.status_code == 200, (field, name, response.content)
        error = assert_error(api.post(LOGIN, {"password": PASSWORD}, format="json"), 400, "invalid")
        assert set(error["fields"]) == {"login"}

    def test_wrong_password_and_unknown_user(self, api, user):
        assert_error(login(api, user.username, "nope"), 401, "invalid_credentials")
        assert_error(login(api, "ghost"), 401, "invalid_credentials")

    def test_deactivated_user_cannot_log_in(self, api, user):
        user.is_active = False
        user.deactivated_at = timezone.now()  # deleted by its owner; inactive alone is a suspension
        user.save()
        assert_error(login(api, user.username), 401, "invalid_credentials")

    def test_suspended_user_is_told_so(self, api, user):
        user.is_active = False
        user.save()
        assert_error(login(api, user.username), 403, "account_suspended")

    def test_unverified_email_refused_when_mandatory(self, api, settings):
        settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
        register(api)
        assert_error(login(api, "ana", "a-Long-pass-123"), 403, "email_unverified")

    def test_throttled_per_account_across_ips(self, api, user, monkeypatch, settings):
        from socialsite.api.throttling import LoginIPThrottle

        monkeypatch.setattr(LoginIPThrottle, "THROTTLE_RATES", {"login": "100/5m"})
        settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "100/5m/ip,3/5m/key"}
        for i in range(3):
            response = api.post(
                LOGIN, {"username": user.username, "password": "bad"}, format="json", REMOTE_ADDR=f"10.0.0.{i}"
            )
            assert response.status_code == 401
        response = api.post(LOGIN, {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.9")
        assert_error(response, 429, "throttled")
        assert "Retry-After" in response


class TestRefreshAndLogout:
    def test_refresh_rotates_and_refuses_reuse(self, api, user):
        first = login(api, user.username).json()
        response = api.post(REFRESH, {"refresh_token": first["refresh_token"]}, format="json")
        assert response.status_code == 200
        second = response.json()
        assert set(second) == {"access_token", "refresh_token", "token_type", "expires_in"}
        assert second["refresh_token"] != first["refresh_token"]
        # The new one works once; the spent one, used again, looks stolen: the whole sign-in ends,
        # the token its holder has now included.
        third = api.post(REFRESH, {"refresh_token": second["refresh_token"]}, format="json")
        assert third.status_code == 200
        assert_error(
            api.post(REFRESH, {"refresh_token": first["refresh_token"]}, format="json"), 401, "token_not_valid"
        )
        assert_error(
            api.post(REFRESH, {"refresh_token": third.json()["refresh_token"]}, format="json"), 401, "token_not_valid"
        )

    @pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
    def test_refresh_with_bad_token(self, api, token):
        response = api.post(REFRESH, {"refresh_token": token}, format="json")
        assert response.status_code in (400, 401)
        assert "error" in response.json()

    def test_a_token_of_spaces_is_a_bad_token_not_a_missing_one(self, api):
        """The schema asks for a non-empty string; spaces are one, and an invalid token (schemathesis)."""
        response = api.post(REFRESH, {"refresh_token": "  "}, format="json")
        assert response.status_code == 401, response.content

    def test_expired_refresh_token(self, api, user):
        tokens = login(api, user.username).json()
        with freeze_time(datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=31)):
            assert_error(
                api.post(REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json"), 401, "token_not_valid"
            )

    def test_logout_blacklists_and_replay_is_refused(self, api, user):
        tokens = login(api, user.username).json()
        assert api.post(LOGOUT, {"refresh_token": tokens["refresh_token"]}, format="json").status_code == 204
        assert_error(
            api.post(REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json"), 401, "token_not_valid"
        )
        assert_error(
            api.post(LOGOUT, {"refresh_token": tokens["refresh_token"]}, format="json"), 401, "token_not_valid"
        )


class TestAccessTokens:
    def test_bad_token_is_401_in_the_envelope(self, api):
        api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
        error = assert_error(api.get("/api/v1/users/me"), 401, "token_not_valid")
        assert "message" in error

    def test_expired_access_token(self, api, user):
        tokens = login(api, user.username).json()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
        assert api.get("/api/v1/users/me").status_code == 200
        with freeze_time(datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=16)):
            assert_error(api.get("/api/v1/users/me"), 401, "token_not_valid")

    def test_a_token_is_decoded_once(self, api, user, monkeypatch):
        """Validated tokens are remembered by their text (accounts/api/authentication.py) until
        they expire (test_expired_access_token); revocation is still checked on every call."""
        from rest_framework_simplejwt.backends import TokenBackend

        decoded = []
        decode = TokenBackend.decode
        monkeypatch.setattr(TokenBackend, "decode", lambda *args, **kw: decoded.append(1) or decode(*args, **kw))
        tokens = login(api, user.username).json()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
        for _ in range(3):
            assert api.get("/api/v1/users/me").status_code == 200
        assert len(decoded) == 1
        account_services.user_sign_out_everywhere(user=user)
        assert_error(api.get("/api/v1/users/me"), 401, "token_not_valid")

    def test_no_token_on_an_owner_endpoint(self, api, user):
        assert_error(api.patch(f"/api/v1/users/{user.pk}", {"bio": "x"}, format="json"), 401, "not_authenticated")

"""POST /api/v1/auth/social/{provider}: a provider token in, our JWT pair out."""

import jwt
import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.models import Profile
from tests.accounts.auth.conftest import (
    GOOGLE_CLIENT_ID,
    apple_claims,
    google_claims,
    serve_apple_keys,
    serve_facebook_graph,
    serve_google_certs,
)
from tests.accounts.auth.mail import confirmation_path
from tests.factories import PASSWORD, UserFactory

User = get_user_model()

pytestmark = pytest.mark.django_db

FACEBOOK_ME = {"id": "10150001", "email": "cat@example.org", "name": "Cat Kim", "first_name": "Cat", "last_name": "Kim"}


def social(api, provider, **body):
    return api.post(f"/api/v1/auth/social/{provider}", body, format="json")


def assert_token_pair(response):
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds())
    # A token API: nothing is left in a session, and no cookie (session, CSRF, messages) is sent.
    assert not response.cookies, response.cookies
    assert not Session.objects.exists()
    return body


def me(api, access_token):
    return api.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {access_token}")


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


@pytest.fixture
def google_certs(provider_http, provider_key):
    serve_google_certs(provider_http, provider_key)


@pytest.fixture
def apple_keys(provider_http, provider_key):
    serve_apple_keys(provider_http, provider_key)


@pytest.fixture
def facebook_graph(provider_http):
    serve_facebook_graph(provider_http, valid_tokens={"fb-user-token"}, me=FACEBOOK_ME)


# --- A valid token signs in, creating the account once ------------------------------------------------------------


def test_google_id_token_gives_a_jwt_pair_for_a_new_user_with_profile(api, google, google_certs, provider_key):
    body = assert_token_pair(social(api, "google", id_token=provider_key.sign(google_claims())))

    user = User.objects.get()
    assert user.email == "ann@gmail.com"
    assert Profile.objects.filter(user=user).exists()
    assert SocialAccount.objects.get(provider="google").uid == "google-sub-1"
    assert EmailAddress.objects.get(user=user).verified
    response = me(api, body["access_token"])
    assert response.status_code == 200
    assert response.json()["id"] == str(user.pk)
    assert response.json()["email"] == "ann@gmail.com"

    again = assert_token_pair(social(api, "google", id_token=provider_key.sign(google_claims())))
    assert me(api, again["access_token"]).json()["id"] == str(user.pk)
    assert User.objects.count() == 1


def test_apple_id_token_gives_a_jwt_pair(api, apple, apple_keys, provider_key):
    body = assert_token_pair(social(api, "apple", id_token=provider_key.sign(apple_claims())))

    user = User.objects.get()
    assert SocialAccount.objects.get(provider="apple", user=user).uid == "000123.apple.sub"
    assert Profile.objects.filter(user=user).exists()
    assert me(api, body["access_token"]).json()["id"] == str(user.pk)

    # Later Apple tokens may omit the email; the `sub` finds the account.
    claims = apple_claims()
    del claims["email"], claims["email_verified"]
    again = assert_token_pair(social(api, "apple", id_token=provider_key.sign(claims)))
    assert me(api, again["access_token"]).json()["id"] == str(user.pk)
    assert User.objects.count() == 1


def test_facebook_access_token_gives_a_jwt_pair(api, facebook, facebook_graph, provider_http, mailoutbox):
    body = assert_token_pair(social(api, "facebook", access_token="fb-user-token"))

    user = User.objects.get()
    assert user.email == "cat@example.org"
    assert SocialAccount.objects.get(provider="facebook", user=user).uid == "10150001"
    assert Profile.objects.filter(user=user).exists()
    assert me(api, body["access_token"]).status_code == 200
    # Facebook's addresses are unverified, so allauth asks the user to confirm theirs.
    assert not EmailAddress.objects.get(user=user).verified
    assert [m.to for m in mailoutbox] == [["cat@example.org"]]
    debug = next(call.request for call in provider_http.calls if "/debug_token" in call.request.url)
    assert "input_token=fb-user-token" in debug.url

    assert_token_pair(social(api, "facebook", access_token="fb-user-token"))
    assert User.objects.count() == 1


# --- Bad tokens ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda key, forger: forger.sign(google_claims()), id="forged-signature"),
        pytest.param(lambda key, forger: key.sign(google_claims(lifetime=-120)), id="expired"),
        pytest.param(lambda key, forger: key.sign({**google_claims(), "aud": "someone-else"}), id="other-audience"),
        pytest.param(lambda key, forger: key.sign({**google_claims(), "iss": "https://evil.example"}), id="other-iss"),
        pytest.param(lambda key, forger: key.sign(google_claims(), kid="unknown-kid"), id="unknown-kid"),
        pytest.param(
            lambda key, forger: jwt.encode(google_claims(), key.private_key, algorithm="RS256"), id="no-kid-header"
        ),
        pytest.param(lambda key, forger: "not-a-jwt", id="garbage"),
    ],
)
def test_google_bad_id_token_is_401(api, google, google_certs, provider_key, attacker_key, make_token):
    response = social(api, "google", id_token=make_token(provider_key, attacker_key))

    assert_error(response, 401, "invalid_token")
    assert not User.objects.exists()


def test_google_needs_an_id_token_not_an_access_token(api, google, google_certs):
    assert_error(social(api, "google", access_token="ya29.some-access-token"), 401, "invalid_token")


def test_google_certs_unreachable_is_401_not_500(api, google, provider_http, provider_key):
    provider_http.get("https://www.googleapis.com/oauth2/v1/certs", status=503)

    assert_error(social(api, "google", id_token=provider_key.sign(google_claims())), 401, "invalid_token")


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda key, forger: forger.sign(apple_claims()), id="forged-signature"),
        pytest.param(lambda key, forger: key.sign(apple_claims(lifetime=-120)), id="expired"),
        pytest.param(lambda key, forger: key.sign({**apple_claims(), "aud": GOOGLE_CLIENT_ID}), id="other-audience"),
    ],
)
def test_apple_bad_id_token_is_401(api, apple, apple_keys, provider_key, attacker_key, make_token):
    assert_error(social(api, "apple", id_token=make_token(provider_key, attacker_key)), 401, "invalid_token")
    assert not User.objects.exists()


def test_facebook_invalid_access_token_is_401(api, facebook, facebook_graph):
    assert_error(social(api, "facebook", access_token="stolen-or-expired"), 401, "invalid_token")
    assert not User.objects.exists()


def test_facebook_token_for_another_app_is_401(api, facebook, provider_http):
    provider_http.get("https://graph.facebook.com/v19.0/oauth/access_token", json={"access_token": "app-token"})
    provider_http.get(
        "https://graph.facebook.com/v19.0/debug_token",
        json={"data": {"app_id": "some-other-app", "is_valid": True, "user_id": "1"}},
    )
    assert_error(social(api, "facebook", access_token="token-minted-for-another-app"), 401, "invalid_token")


# --- Which providers ---------------------------------------------------------------------------------------------


def test_unknown_provider_is_404(api, google):
    assert_error(social(api, "myspace", id_token="x"), 404, "not_found")
    assert_error(social(api, "myspace"), 404, "not_found")


def test_provider_without_credentials_is_404(api, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}

    for provider in ("google", "apple", "facebook"):
        assert_error(social(api, provider, id_token="x", access_token="y"), 404, "not_found")


def test_missing_tokens_is_400_envelope(api, google):
    response = social(api, "google")

    assert_error(response, 400, "invalid")


def test_get_is_405(api, google):
    assert_error(api.get("/api/v1/auth/social/google"), 405, "method_not_allowed")


# --- Existing accounts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "sign"),
    [
        ("google", lambda key, email: key.sign(google_claims(email=email))),
        ("apple", lambda key, email: key.sign(apple_claims(email=email))),
    ],
)
def test_verified_email_connects_the_existing_account(
    api, google, apple, google_certs, apple_keys, provider_key, provider, sign
):
    existing = UserFactory(email="dee@example.com")
    EmailAddress.objects.create(user=existing, email="dee@example.com", verified=True, primary=True)

    body = assert_token_pair(social(api, provider, id_token=sign(provider_key, "dee@example.com")))

    assert me(api, body["access_token"]).json()["id"] == str(existing.pk)
    assert User.objects.count() == 1
    assert SocialAccount.objects.get(provider=provider).user == existing
    existing.refresh_from_db()
    assert existing.check_password(PASSWORD), "a verified address keeps the password"


def test_facebook_email_of_an_existing_account_is_not_trusted(api, facebook, facebook_graph):
    # Facebook does not vouch for the address, so it can neither connect nor duplicate the account.
    UserFactory(email="cat@example.org")

    response = social(api, "facebook", access_token="fb-user-token")

    assert_error(response, 409, "signup_required")
    assert User.objects.count() == 1
    assert not SocialAccount.objects.exists()
    assert not Session.objects.exists()


def test_deactivated_user_is_403(api, google, google_certs, provider_key):
    user = UserFactory()
    SocialAccount.objects.create(user=user, provider="google", uid="google-sub-1", extra_data={})
    User.objects.filter(pk=user.pk).update(is_active=False, deactivated_at=timezone.now())

    assert_error(social(api, "google", id_token=provider_key.sign(google_claims())), 403, "account_inactive")


def test_suspended_user_is_403_account_suspended(api, google, google_certs, provider_key):
    user = UserFactory()
    SocialAccount.objects.create(user=user, provider="google", uid="google-sub-1", extra_data={})
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert_error(social(api, "google", id_token=provider_key.sign(google_claims())), 403, "account_suspended")


def test_unverified_facebook_email_is_403_when_verification_is_mandatory(
    api, client, settings, facebook, facebook_graph, mailoutbox
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"

    response = social(api, "facebook", access_token="fb-user-token")

    assert_error(response, 403, "email_unverified")
    assert [m.to for m in mailoutbox] == [["cat@example.org"]]
    assert not Session.objects.exists()

    # Once the address is confirmed, the same sign-in goes through to the same account.
    confirm_path = confirmation_path(mailoutbox[0])
    assert client.post(confirm_path).status_code == 302
    assert EmailAddress.objects.get(email="cat@example.org").verified
    body = assert_token_pair(social(api, "facebook", access_token="fb-user-token"))
    assert me(api, body["access_token"]).json()["email"] == "cat@example.org"
    assert User.objects.count() == 1


def test_a_browser_session_on_the_same_client_is_left_alone(client, google, google_certs, provider_key):
    browser_user = UserFactory()
    client.force_login(browser_user)
    session_key = client.session.session_key
    client.cookies[settings.CSRF_COOKIE_NAME] = "a" * 32

    response = client.post(
        "/api/v1/auth/social/google",
        {"id_token": provider_key.sign(google_claims())},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert not response.cookies, response.cookies
    assert client.session.session_key == session_key
    assert client.session["_auth_user_id"] == str(browser_user.pk)
    assert list(Session.objects.values_list("session_key", flat=True)) == [session_key]
    assert User.objects.count() == 2


def test_schema_documents_the_endpoint(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    operation = response.json()["paths"]["/api/v1/auth/social/{provider}"]["post"]
    assert set(operation["responses"]) >= {"200", "400", "401", "403", "404", "429"}
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/SocialTokenInputRequest"
    )
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/SignInOutput")


def test_google_verified_email_passes_mandatory_verification(api, settings, google, google_certs, provider_key):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"

    body = assert_token_pair(social(api, "google", id_token=provider_key.sign(google_claims())))

    assert me(api, body["access_token"]).json()["email_verified"] is True


def test_an_account_with_two_factor_authentication_gets_a_challenge_not_tokens(api, google, google_certs, provider_key):
    """The provider vouches for the first factor only; the second goes through POST /auth/jwt/mfa."""
    from accounts.models import TokenFamily
    from tests.accounts.auth.mfa import mid_totp_period, verified_user, with_totp

    person = with_totp(verified_user(email="ann@gmail.com"))
    response = social(api, "google", id_token=provider_key.sign(google_claims()))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["mfa_required"] is True and "access_token" not in body
    assert not TokenFamily.objects.exists()
    with mid_totp_period():
        pair = api.post("/api/v1/auth/jwt/mfa", {"challenge": body["challenge"], "code": person.code()}, format="json")
    assert pair.status_code == 200, pair.content
    assert me(api, pair.json()["access_token"]).json()["id"] == str(person.user.pk)

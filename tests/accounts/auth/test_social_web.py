"""Browser sign-in through allauth's real OAuth views; only the providers' HTTP edge is faked."""

import json
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from cryptography.hazmat.primitives import serialization
from django.contrib.auth import get_user_model

from accounts.models import Profile
from tests.accounts.auth.conftest import (
    APPLE_AUTHORIZE_URL,
    APPLE_CLIENT_ID,
    APPLE_ISSUER,
    APPLE_KEY_ID,
    APPLE_TEAM_ID,
    APPLE_TOKEN_URL,
    FACEBOOK_AUTHORIZE_URL,
    FACEBOOK_CLIENT_ID,
    FACEBOOK_GRAPH,
    GOOGLE_AUTHORIZE_URL,
    GOOGLE_CLIENT_ID,
    GOOGLE_TOKEN_URL,
    apple_claims,
    google_claims,
    serve_apple_keys,
    serve_facebook_graph,
)

User = get_user_model()

pytestmark = pytest.mark.django_db


def start_login(client, provider, authorize_url):
    """POST the provider button (SOCIALACCOUNT_LOGIN_ON_GET is off) and follow to the provider."""
    response = client.post(f"/accounts/{provider}/login/")
    assert response.status_code == 302
    location = urlparse(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == authorize_url
    params = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert params["state"]
    assert params["redirect_uri"] == f"http://testserver/accounts/{provider}/login/callback/"
    return params


def signed_in_user(client):
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def assert_new_social_user(client, provider, uid, email, *, email_verified):
    user = signed_in_user(client)
    assert user is not None, "the callback should leave the user signed in"
    assert user.email == email
    assert Profile.objects.filter(user=user).exists()
    account = SocialAccount.objects.get(provider=provider, uid=uid)
    assert account.user == user
    assert EmailAddress.objects.get(user=user, email=email).verified is email_verified
    return user


# --- Google ------------------------------------------------------------------------------------------------


def google_callback(client, provider_http, provider_key, claims):
    params = start_login(client, "google", GOOGLE_AUTHORIZE_URL)
    assert params["client_id"] == GOOGLE_CLIENT_ID
    assert set(params["scope"].split()) == {"profile", "email"}
    provider_http.post(
        GOOGLE_TOKEN_URL,
        json={
            "access_token": "ya29.google-access",
            "expires_in": 3599,
            "token_type": "Bearer",
            "scope": "openid email profile",
            "id_token": provider_key.sign(claims),
        },
    )
    return client.get("/accounts/google/login/callback/", {"code": "google-code", "state": params["state"]})


def test_google_web_login_creates_user_with_profile_then_reuses_it(client, google, provider_http, provider_key):
    # The id_token comes straight from Google's token endpoint over TLS, so allauth checks its
    # claims (iss, aud, exp) but, per OpenID Connect, not its signature: no certs are fetched.
    response = google_callback(client, provider_http, provider_key, google_claims())

    assert response.status_code == 302
    assert response["Location"] == "/welcome/"  # a new account starts with the welcome steps
    user = assert_new_social_user(client, "google", "google-sub-1", "ann@gmail.com", email_verified=True)
    assert user.first_name == "Ann"
    token_request = next(call.request for call in provider_http.calls if call.request.url == GOOGLE_TOKEN_URL)
    sent = parse_qs(token_request.body)
    assert sent["code"] == ["google-code"]
    assert sent["client_id"] == [GOOGLE_CLIENT_ID]

    client.logout()
    response = google_callback(client, provider_http, provider_key, google_claims())
    assert response.status_code == 302
    assert response["Location"] == "/"  # signing in again goes home
    assert signed_in_user(client) == user
    assert User.objects.count() == 1
    assert SocialAccount.objects.count() == 1


def test_google_callback_with_unknown_state_is_refused(client, google, provider_http, provider_key):
    start_login(client, "google", GOOGLE_AUTHORIZE_URL)
    response = client.get("/accounts/google/login/callback/", {"code": "google-code", "state": "forged-state"})

    assert response.status_code == 401  # allauth's authentication error page
    assert signed_in_user(client) is None
    assert User.objects.count() == 0
    assert not provider_http.calls


def test_google_callback_with_expired_id_token_is_refused(client, google, provider_http, provider_key):
    response = google_callback(client, provider_http, provider_key, google_claims(lifetime=-60))

    assert response.status_code == 401
    assert signed_in_user(client) is None
    assert User.objects.count() == 0


# --- Apple -----------------------------------------------------------------------------------------------------


def apple_callback(client, provider_http, provider_key, claims, user_json=None):
    params = start_login(client, "apple", APPLE_AUTHORIZE_URL)
    assert params["client_id"] == APPLE_CLIENT_ID
    assert params["response_mode"] == "form_post"
    provider_http.post(
        APPLE_TOKEN_URL,
        json={
            "access_token": "apple-access",
            "expires_in": 3600,
            "token_type": "Bearer",
            "refresh_token": "apple-refresh",
            "id_token": provider_key.sign(claims),
        },
    )
    form = {"code": "apple-code", "state": params["state"]}
    if user_json is not None:
        form["user"] = json.dumps(user_json)
    # Apple answers with a form_post to the callback, which hands over to the finish view.
    response = client.post("/accounts/apple/login/callback/", form)
    assert response.status_code == 302
    finish = urlparse(response["Location"])
    assert finish.path == "/accounts/apple/login/callback/finish/"
    return client.get(finish.path + "?" + finish.query)


def test_apple_web_login_creates_user_with_profile_then_reuses_it(
    client, apple, provider_http, provider_key, apple_certificate_key
):
    serve_apple_keys(provider_http, provider_key)
    first_visit_user = {"name": {"firstName": "Bob", "lastName": "Ray"}, "email": "bob@privaterelay.appleid.com"}
    response = apple_callback(client, provider_http, provider_key, apple_claims(), first_visit_user)

    assert response.status_code == 302
    assert response["Location"] == "/welcome/"  # a new account starts with the welcome steps
    user = assert_new_social_user(
        client, "apple", "000123.apple.sub", "bob@privaterelay.appleid.com", email_verified=True
    )
    assert (user.first_name, user.last_name) == ("Bob", "Ray")

    # The client secret allauth sent is the ES256 JWT Apple expects, signed with our key.
    token_request = next(call.request for call in provider_http.calls if call.request.url == APPLE_TOKEN_URL)
    sent = {key: values[0] for key, values in parse_qs(token_request.body).items()}
    assert sent["client_id"] == APPLE_CLIENT_ID
    assert sent["code"] == "apple-code"
    public_key = serialization.load_pem_private_key(apple_certificate_key.encode(), None).public_key()
    secret = jwt.decode(sent["client_secret"], public_key, algorithms=["ES256"], audience=APPLE_ISSUER)
    assert secret["iss"] == APPLE_TEAM_ID
    assert secret["sub"] == APPLE_CLIENT_ID
    assert jwt.get_unverified_header(sent["client_secret"])["kid"] == APPLE_KEY_ID

    # Apple sends the name only the first time; the account is found by its `sub`.
    client.logout()
    response = apple_callback(client, provider_http, provider_key, apple_claims())
    assert response.status_code == 302
    assert signed_in_user(client) == user
    assert User.objects.count() == 1


def test_apple_web_login_refuses_id_token_signed_by_another_key(
    client, apple, provider_http, provider_key, attacker_key
):
    serve_apple_keys(provider_http, provider_key)
    response = apple_callback(client, provider_http, attacker_key, apple_claims())

    assert response.status_code == 401
    assert signed_in_user(client) is None
    assert User.objects.count() == 0


# --- Facebook ----------------------------------------------------------------------------------------------------

FACEBOOK_ME = {"id": "10150001", "email": "cat@example.org", "name": "Cat Kim", "first_name": "Cat", "last_name": "Kim"}


def facebook_callback(client, provider_http):
    params = start_login(client, "facebook", FACEBOOK_AUTHORIZE_URL)
    assert params["client_id"] == FACEBOOK_CLIENT_ID
    provider_http.get(
        f"{FACEBOOK_GRAPH}/oauth/access_token",
        json={"access_token": "fb-user-token", "token_type": "bearer", "expires_in": 5183944},
    )
    return client.get("/accounts/facebook/login/callback/", {"code": "fb-code", "state": params["state"]})


def test_facebook_web_login_creates_user_with_profile_then_reuses_it(client, facebook, provider_http, mailoutbox):
    serve_facebook_graph(provider_http, valid_tokens={"fb-user-token"}, me=FACEBOOK_ME)
    response = facebook_callback(client, provider_http)

    assert response.status_code == 302
    assert response["Location"] == "/welcome/"  # a new account starts with the welcome steps
    # Facebook does not vouch for email addresses, so ours asks for confirmation.
    user = assert_new_social_user(client, "facebook", "10150001", "cat@example.org", email_verified=False)
    assert [m.to for m in mailoutbox] == [["cat@example.org"]]
    me_request = next(call.request for call in provider_http.calls if "/me?" in call.request.url)
    assert "appsecret_proof=" in me_request.url

    client.logout()
    response = facebook_callback(client, provider_http)
    assert response.status_code == 302
    assert signed_in_user(client) == user
    assert User.objects.count() == 1


@pytest.mark.parametrize("provider", ["google", "apple", "facebook"])
@pytest.mark.parametrize("debug", [False, True])
def test_a_provider_that_is_not_set_up_is_a_404_page(client, settings, provider, debug):
    """They answered 500, with the debug page, on a machine without provider keys."""
    settings.SOCIALACCOUNT_PROVIDERS = {}
    settings.DEBUG = debug
    for method in (client.get, client.post):
        response = method(f"/accounts/{provider}/login/")
        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/html")

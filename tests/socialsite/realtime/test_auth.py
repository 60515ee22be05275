"""Who may open /ws/: bearer token, ?access_token=, or session cookie with a same-site Origin."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from socialsite.realtime.consumers import CLOSE_UNAUTHENTICATED
from tests.factories import UserFactory
from tests.socialsite.realtime.sockets import access_token, bearer, expect_close, open_ready, open_socket, run

pytestmark = pytest.mark.django_db(transaction=True)

SITE = "socialsite.test"
CLOSE_FOREIGN_ORIGIN = 4403


@pytest.fixture(autouse=True)
def _site_hosts(settings):
    settings.ALLOWED_HOSTS = [SITE]
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.socialsite-cdn.test:8443"]


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"


def expect_unauthenticated(headers=None, path="/ws/"):
    async def scenario():
        ws, accepted, _ = await open_socket(headers, path)
        # Accepted first so browsers see the 4401 code (a refused handshake hides it), then closed.
        assert accepted
        await expect_close(ws, CLOSE_UNAUTHENTICATED)

    run(scenario)


def expect_ready_for(user, headers=None, path="/ws/"):
    async def scenario():
        ws, ready = await open_ready(headers, path)
        assert ready == {"event": "session.ready", "data": {"user_id": str(user.pk)}}
        await ws.disconnect()

    run(scenario)


def test_no_credentials_closes_with_4401():
    expect_unauthenticated()


def test_bearer_header_authenticates():
    user = UserFactory()
    expect_ready_for(user, bearer(user))


def test_access_token_query_parameter_authenticates():
    user = UserFactory()
    expect_ready_for(user, path=f"/ws/?access_token={access_token(user)}")


def test_expired_access_token_closes_with_4401():
    user = UserFactory()
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    expect_unauthenticated({"authorization": f"Bearer {token}"})
    expect_unauthenticated(path=f"/ws/?access_token={token}")


@pytest.mark.parametrize("raw", ["garbage", "a.b.c", ""])
def test_garbage_token_closes_with_4401(raw):
    expect_unauthenticated({"authorization": f"Bearer {raw}"})
    expect_unauthenticated(path=f"/ws/?access_token={raw}")


def test_refresh_token_is_not_an_access_token():
    user = UserFactory()
    expect_unauthenticated({"authorization": f"Bearer {RefreshToken.for_user(user)}"})


def test_token_of_deactivated_user_closes_with_4401():
    user = UserFactory()
    headers = bearer(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    expect_unauthenticated(headers)


def test_token_from_before_a_password_change_closes_with_4401():
    user = UserFactory()
    headers = bearer(user)
    user.set_password("a-New-pass-456")
    user.save()
    expect_unauthenticated(headers)


def test_bad_bearer_token_does_not_fall_back_to_the_session():
    user = UserFactory()
    expect_unauthenticated(
        {"authorization": "Bearer garbage", "cookie": session_cookie(user), "origin": f"https://{SITE}", "host": SITE}
    )


@pytest.mark.parametrize(
    "origin, host",
    [
        (f"https://{SITE}", SITE),
        (f"http://{SITE}:8000", f"{SITE}:8000"),
        ("https://app.socialsite-cdn.test:8443", SITE),  # in CSRF_TRUSTED_ORIGINS
    ],
)
def test_session_cookie_with_same_site_origin_authenticates(origin, host):
    user = UserFactory()
    expect_ready_for(user, {"cookie": session_cookie(user), "origin": origin, "host": host})


@pytest.mark.parametrize(
    "origin, host",
    [
        (f"http://{SITE}:9999", f"{SITE}:8000"),  # same name, another port: another origin
        ("https://other.test", "other.test"),  # matches its Host, but that host isn't ours
        ("http://app.socialsite-cdn.test:8443", SITE),  # trusted host, wrong scheme
    ],
)
def test_origin_must_be_this_host_or_trusted(origin, host, settings):
    settings.ALLOWED_HOSTS = [SITE]
    headers = {"cookie": session_cookie(UserFactory()), "origin": origin, "host": host}

    async def scenario():
        ws, accepted, code = await open_socket(headers)
        assert not accepted and code == CLOSE_FOREIGN_ORIGIN

    run(scenario)


def test_session_cookie_without_origin_is_not_auth():
    user = UserFactory()
    expect_unauthenticated({"cookie": session_cookie(user), "host": SITE})


def test_logged_out_session_closes_with_4401():
    user = UserFactory()
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    cookie = f"{name}={client.cookies[name].value}"
    client.logout()
    expect_unauthenticated({"cookie": cookie, "origin": f"https://{SITE}", "host": SITE})


@pytest.mark.parametrize("origin", ["https://evil.example", f"https://{SITE}.evil.example", "null", "file://"])
def test_foreign_origin_is_refused(origin):
    user = UserFactory()
    attempts = [
        {"cookie": session_cookie(user), "origin": origin, "host": SITE},
        {**bearer(user), "origin": origin},
    ]

    async def scenario():
        for headers in attempts:
            ws, accepted, code = await open_socket(headers)
            assert not accepted  # refused at the handshake: the server answers HTTP 403
            assert code == CLOSE_FOREIGN_ORIGIN

    run(scenario)

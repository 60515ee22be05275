"""The auth cache (accounts/user_cache.py): a warm token or session reads no user row, and every
write of the row reaches the next request at once: suspension, password change, "log out
everywhere", deactivation, deletion, a bare queryset update."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient, APIRequestFactory

from accounts import services, user_cache
from accounts.api.authentication import JWTAuthentication
from tests.conftest import bearer
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
PAGE = "/settings/profile/"  # signed-in only


@pytest.fixture(autouse=True)
def cache_on(settings):
    """On in both modes here (the embedded default leaves it off: its cache is per process)."""
    settings.AUTH_USER_CACHE_SECONDS = 120


def user_row_queries(queries, user):
    """The captured queries that read this user's row."""
    ids = {str(user.pk), user.pk.hex}
    return [q["sql"] for q in queries if 'FROM "accounts_user"' in q["sql"] and any(pk in q["sql"] for pk in ids)]


def authenticate(user):
    request = APIRequestFactory().get("/api/v1/users/me", **bearer(user))
    return JWTAuthentication().authenticate(request)


def test_a_warm_token_authenticates_without_a_query(user, django_assert_num_queries):
    authenticate(user)  # reads the row (and marks the user active)
    with django_assert_num_queries(0):
        found, _ = authenticate(user)
    assert found == user
    assert found.username == user.username
    assert found.is_active and found._state.adding is False


def test_a_warm_api_request_reads_no_user_row(user, user_api):
    assert user_api.get("/api/v1/feed").status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        assert user_api.get("/api/v1/feed").status_code == 200
    assert user_row_queries(ctx.captured_queries, user) == []


def test_a_warm_session_reads_no_user_row(user):
    client = Client()
    client.force_login(user)
    assert client.get(PAGE).status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(PAGE)
    assert response.status_code == 200
    assert response.wsgi_request.user == user
    assert user_row_queries(ctx.captured_queries, user) == []


def test_with_the_cache_off_every_request_reads_the_row(user, settings):
    settings.AUTH_USER_CACHE_SECONDS = 0
    authenticate(user)
    with CaptureQueriesContext(connection) as ctx:
        authenticate(user)
    assert len(user_row_queries(ctx.captured_queries, user)) == 1


def suspend(user):
    services.user_suspend(user=user, moderator=UserFactory(), reason="spam")


def change_password(user):
    user.set_password("another-Long-pass-456")
    user.save()


def sign_out_everywhere(user):
    services.user_sign_out_everywhere(user=user)


def deactivate(user):
    services.user_deactivate(user=user)


def delete(user):
    services.user_delete(user=user)


def bare_update(user):
    User.objects.filter(pk=user.pk).update(is_active=False)  # no signal


def bulk_update(user):
    row = User.objects.get(pk=user.pk)
    row.is_active = False
    User.objects.bulk_update([row], ["is_active"])


REVOKING = [suspend, change_password, sign_out_everywhere, deactivate, delete, bare_update, bulk_update]


@pytest.mark.parametrize("change", REVOKING)
def test_a_cached_token_user_is_refused_right_after(change, user, user_api, act):
    assert user_api.get("/api/v1/users/me").status_code == 200
    assert user_api.get("/api/v1/users/me").status_code == 200  # served from the cache
    act(change, User.objects.get(pk=user.pk))
    response = user_api.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"token_not_valid", "user_inactive", "user_not_found"}


@pytest.mark.parametrize("change", REVOKING)
def test_a_cached_user_is_refused_before_the_commit_too(change, user):
    """The bump happens with the write as well as after the commit (here, never): a request of
    the writing process sees the change at once."""
    authenticate(user)
    change(User.objects.get(pk=user.pk))
    with pytest.raises(AuthenticationFailed, match="revoked|inactive|not found"):
        authenticate(user)


@pytest.mark.parametrize("change", [suspend, change_password, sign_out_everywhere, bare_update])
def test_a_cached_session_user_is_signed_out_right_after(change, user, act):
    client = Client()
    client.force_login(user)
    assert client.get(PAGE).status_code == 200
    assert client.get(PAGE).wsgi_request.user == user  # from the cache
    act(change, User.objects.get(pk=user.pk))
    response = client.get(PAGE)
    assert response.status_code == 302
    assert not response.wsgi_request.user.is_authenticated


def test_a_cached_session_keeps_up_with_a_new_username(user):
    client = Client()
    client.force_login(user)
    client.get(PAGE)
    User.objects.filter(pk=user.pk).update(username="renamed")
    assert client.get(PAGE).wsgi_request.user.username == "renamed"
    user.refresh_from_db()
    user.first_name = "Nadia"
    user.save()
    assert client.get(PAGE).wsgi_request.user.first_name == "Nadia"


def test_the_last_active_mark_does_not_drop_the_cached_row(user, django_assert_num_queries):
    authenticate(user)
    services.users_touch_last_active(user_ids=[user.pk])  # the sockets' heartbeat
    User.objects.filter(pk=user.pk).update(last_active=None)
    with django_assert_num_queries(0):
        authenticate(user)


def test_a_session_with_a_stale_hash_goes_django_s_way(user):
    """Not the current hash: Django's own get_user decides (it flushes the session)."""
    client = Client()
    client.force_login(user)
    client.get(PAGE)
    session = client.session
    session["_auth_user_hash"] = "0" * 64
    session.save()
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_bad_id_is_no_user(user):
    assert user_cache.get("not-a-uuid") is None
    assert user_cache.get(None) is None
    assert user_cache.get(user.pk) == user
    assert user_cache.get(str(user.pk)) == user


def test_with_the_cache_down_auth_reads_the_database(user, settings, caplog):
    assert user_api_get(user).status_code == 200
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": UNREACHABLE_REDIS}
    }
    assert user_api_get(user).status_code == 200
    client = Client()
    client.force_login(UserFactory(password=PASSWORD))
    assert client.get(PAGE).status_code == 200
    # Writes made while the cache is down still take, and the next request sees them.
    bare_update(user)
    assert user_api_get(user).status_code == 401
    assert any("auth cache unavailable" in r.message for r in caplog.records)


def user_api_get(user):
    client = APIClient()
    client.credentials(**bearer(user))
    return client.get("/api/v1/users/me")

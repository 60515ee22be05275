import pytest
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(db):
    return UserFactory(last_active=None)  # never seen yet


def test_token_calls_mark_the_user_active_once_per_window(user_api, user):
    assert user.last_active is None
    user_api.get("/api/v1/users/me")
    user.refresh_from_db()
    first = user.last_active
    assert first is not None
    user_api.get("/api/v1/users/me")
    user.refresh_from_db()
    assert user.last_active == first  # within the 5-minute window: no extra write


def test_browser_sessions_mark_the_user_active(user):
    client = Client()
    client.force_login(user)
    client.get("/")
    user.refresh_from_db()
    assert user.last_active is not None


def test_anonymous_calls_touch_nobody(api, user):
    api.get(f"/api/v1/users/{user.pk}")
    user.refresh_from_db()
    assert user.last_active is None


def test_a_process_asks_the_cache_at_most_once_a_minute_per_user(user, user_api):
    from django.core.cache import cache

    user_api.get("/api/v1/users/me")
    user.refresh_from_db()
    first = user.last_active
    cache.delete(f"last_active:{user.pk}")  # as if the resolution had passed: only the memo holds it back
    user_api.get("/api/v1/users/me")
    user.refresh_from_db()
    assert user.last_active == first


def test_past_the_memo_the_shared_cache_still_decides(user, monkeypatch):
    """Another process marked the user (the cache key is there): no second write."""
    from django.core.cache import cache

    from accounts import services

    monkeypatch.setattr(services, "LAST_ACTIVE_MEMO_SECONDS", 0)
    services.user_touch_last_active(user=user)
    user.refresh_from_db()
    first = user.last_active
    services.user_touch_last_active(user=user)
    user.refresh_from_db()
    assert user.last_active == first
    cache.delete(f"last_active:{user.pk}")  # the resolution passed
    services.user_touch_last_active(user=user)
    user.refresh_from_db()
    assert user.last_active > first


def test_the_memo_is_bounded(monkeypatch):
    from accounts import services

    monkeypatch.setattr(services, "LAST_ACTIVE_MEMO_SIZE", 3)
    for someone in UserFactory.create_batch(7):
        services.user_touch_last_active(user=someone)
        assert len(services._last_active_asked) <= 3

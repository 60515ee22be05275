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

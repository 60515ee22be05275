"""The API throttles count fixed windows (socialsite/api/throttling.py): a counter per scope,
identity and window, one cache round trip a call; the 429 names the window's end."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIRequestFactory

from socialsite.api.throttling import AnonAPIThrottle, LoginIPThrottle, SignupIPThrottle, UserAPIThrottle
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
START = 1_800_000_000.0  # a multiple of 300: a 5-minute window starts here


def throttle_at(cls, now, rate):
    throttle = cls()
    throttle.rate = rate
    throttle.num_requests, throttle.duration = throttle.parse_rate(rate)
    throttle.timer = lambda: now  # DRF's clock hook
    return throttle


def anon_request(ip="203.0.113.5"):
    request = APIRequestFactory().get("/api/v1/users", REMOTE_ADDR=ip)
    request.user = None
    return request


def test_a_window_allows_its_count_then_refuses_until_it_ends():
    request = anon_request()
    for second in range(250, 253):  # late in the window that starts at START
        assert throttle_at(AnonAPIThrottle, START + second, "3/5m").allow_request(request, None)
    refused = throttle_at(AnonAPIThrottle, START + 260, "3/5m")
    assert not refused.allow_request(request, None)
    assert refused.wait() == 40  # the window ends at START + 300
    assert not throttle_at(AnonAPIThrottle, START + 299, "3/5m").allow_request(request, None)
    # A new window, a new count (DRF's sliding list would count the three calls until START + 550).
    assert throttle_at(AnonAPIThrottle, START + 300, "3/5m").allow_request(request, None)
    # Another identity has its own counter.
    assert throttle_at(AnonAPIThrottle, START + 260, "3/5m").allow_request(anon_request("198.51.100.1"), None)


def test_one_counter_per_window_with_its_expiry():
    throttle_at(AnonAPIThrottle, START + 10, "3/5m").allow_request(anon_request(), None)
    throttle_at(AnonAPIThrottle, START + 20, "3/5m").allow_request(anon_request(), None)
    key = f"throttle_anon_203.0.113.5:{int(START) // 300}"
    assert cache.get(key) == 2
    assert cache.get("throttle_anon_203.0.113.5") is None  # DRF's list of timestamps is gone


@pytest.mark.parametrize(
    ("cls", "setting"),
    [
        (UserAPIThrottle, "THROTTLE_API"),
        (AnonAPIThrottle, "THROTTLE_ANON"),
        (LoginIPThrottle, "THROTTLE_LOGIN"),
        (SignupIPThrottle, "THROTTLE_SIGNUP"),
    ],
)
def test_rates_still_come_from_the_settings(cls, setting, settings):
    assert cls().rate == getattr(settings, setting)


def test_search_throttle_counts_windows_too(settings):
    from search.api.views import SearchThrottle

    assert SearchThrottle().rate == settings.THROTTLE_SEARCH
    count, _ = SearchThrottle().parse_rate(settings.THROTTLE_SEARCH)
    request = anon_request()
    request.user = type("Anonymous", (), {"is_authenticated": False, "pk": None})()
    for _ in range(count):
        assert throttle_at(SearchThrottle, START, settings.THROTTLE_SEARCH).allow_request(request, None)
    assert not throttle_at(SearchThrottle, START, settings.THROTTLE_SEARCH).allow_request(request, None)


def test_an_anonymous_api_caller_gets_the_envelope_and_retry_after(api, user, monkeypatch):
    monkeypatch.setattr(AnonAPIThrottle, "THROTTLE_RATES", {"anon": "2/5m"})
    for _ in range(2):
        assert api.get(f"/api/v1/users/{user.pk}").status_code == 200
    response = api.get(f"/api/v1/users/{user.pk}")
    assert_error(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 300


def test_with_the_cache_down_the_throttles_let_calls_through(user_api, monkeypatch, settings, caplog):
    monkeypatch.setattr(UserAPIThrottle, "THROTTLE_RATES", {"api": "1/5m"})
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": UNREACHABLE_REDIS}
    }
    for _ in range(3):
        assert user_api.get("/api/v1/users/me").status_code == 200
    assert any("throttle UserAPIThrottle skipped" in r.message for r in caplog.records)

"""Login throttles: per client IP, and per account name whatever the IP."""

import pytest

from socialsite.api.throttling import LoginAccountThrottle, LoginIPThrottle
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LIMIT = 3


@pytest.fixture
def low_login_rates(monkeypatch):
    """THROTTLE_LOGIN=3/5m for this test (DRF binds the rates to the classes at import)."""
    monkeypatch.setattr(LoginIPThrottle, "THROTTLE_RATES", {**LoginIPThrottle.THROTTLE_RATES, "login": f"{LIMIT}/5m"})
    monkeypatch.setattr(
        LoginAccountThrottle,
        "THROTTLE_RATES",
        {**LoginAccountThrottle.THROTTLE_RATES, "login_account": f"{LIMIT}/5m"},
    )


def login(api, username, password="wrong-password", ip="203.0.113.7"):
    return api.post(
        "/api/v1/auth/jwt/login", {"username": username, "password": password}, format="json", REMOTE_ADDR=ip
    )


def assert_throttled(response):
    assert response.status_code == 429, response.content
    assert response.json()["error"]["code"] == "throttled"
    assert response.json()["error"]["message"]
    assert 0 < int(response["Retry-After"]) <= 300


def test_login_from_one_ip_is_throttled_after_the_limit(api, low_login_rates):
    for n in range(LIMIT):
        assert login(api, f"someone{n}").status_code == 401

    assert_throttled(login(api, "someone-else"))
    # Even the right password waits.
    user = UserFactory()
    assert_throttled(login(api, user.username, PASSWORD))
    # Another address is not affected.
    assert login(api, user.username, PASSWORD, ip="198.51.100.20").status_code == 200


def test_one_account_from_many_ips_is_throttled(api, low_login_rates):
    user = UserFactory(username="Alice")
    for n in range(LIMIT):
        assert login(api, "alice" if n % 2 else "ALICE", ip=f"198.51.100.{n + 1}").status_code == 401

    assert_throttled(login(api, "Alice", PASSWORD, ip="198.51.100.99"))
    # Another account from a fresh address still gets through.
    other = UserFactory()
    assert login(api, other.username, PASSWORD, ip="198.51.100.100").status_code == 200
    assert user.is_active


def test_social_login_is_throttled_per_ip(api, low_login_rates, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}
    for _ in range(LIMIT):
        response = api.post("/api/v1/auth/social/google", {"id_token": "x"}, format="json", REMOTE_ADDR="203.0.113.9")
        assert response.status_code == 404

    response = api.post("/api/v1/auth/social/google", {"id_token": "x"}, format="json", REMOTE_ADDR="203.0.113.9")
    assert_throttled(response)


def test_default_rate_comes_from_THROTTLE_LOGIN(settings):
    assert LoginIPThrottle().rate == settings.THROTTLE_LOGIN
    assert LoginAccountThrottle().rate == settings.THROTTLE_LOGIN

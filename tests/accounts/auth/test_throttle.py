"""Login limits: per client IP, and failed log-ins per account whatever the IP and whatever names it
(username, email address, phone number), the web form and the API together."""

import pytest

from socialsite.api.throttling import LoginIPThrottle
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LIMIT = 3


@pytest.fixture
def low_login_rates(monkeypatch, settings):
    """THROTTLE_LOGIN=3/5m for this test (DRF binds the rates to the classes at import)."""
    monkeypatch.setattr(LoginIPThrottle, "THROTTLE_RATES", {**LoginIPThrottle.THROTTLE_RATES, "login": f"{LIMIT}/5m"})
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": f"100/5m/ip,{LIMIT}/5m/key"}


def login(api, username, password="wrong-password", ip="203.0.113.7"):
    return api.post(
        "/api/v1/auth/jwt/login", {"username": username, "password": password}, format="json", REMOTE_ADDR=ip
    )


def assert_throttled(response):
    assert response.status_code == 429, response.content
    assert response.json()["error"]["code"] == "throttled"
    assert response.json()["error"]["message"]
    assert 0 < int(response["Retry-After"]) <= 300


def web_login(client, login, password="wrong", ip="203.0.113.9"):
    client.post("/accounts/login/", {"login": login, "password": password}, REMOTE_ADDR=ip)
    return "_auth_user_id" in client.session


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


def test_default_rates_come_from_THROTTLE_LOGIN(settings):
    assert LoginIPThrottle().rate == settings.THROTTLE_LOGIN
    assert settings.ACCOUNT_RATE_LIMITS["login_failed"] == f"{settings.THROTTLE_LOGIN}/ip,{settings.THROTTLE_LOGIN}/key"


def test_username_and_email_count_against_one_limit(api, low_login_rates):
    """The outside review got 45 guesses in 5 minutes instead of 25: username and email apart."""
    user = UserFactory(username="nadia", email="Nadia@example.com")
    names = ["nadia", "nadia@example.com", "NADIA@EXAMPLE.COM"]
    for n, name in enumerate(names[:LIMIT]):
        assert login(api, name, ip=f"198.51.100.{n + 1}").status_code == 401
    for name in names:
        assert_throttled(login(api, name, PASSWORD, ip="198.51.100.50"))
    assert user.is_active


def test_the_web_form_and_the_api_share_the_limit(api, client, low_login_rates):
    user = UserFactory()
    assert not web_login(client, user.email)
    assert login(api, user.username, ip="198.51.100.1").status_code == 401
    assert not web_login(client, user.username.upper())
    assert_throttled(login(api, user.email, PASSWORD, ip="198.51.100.2"))
    assert not web_login(client, user.username, PASSWORD, ip="198.51.100.3")


def test_a_success_does_not_count(api, low_login_rates):
    user = UserFactory()
    for n in range(LIMIT + 2):  # an address each: the per-IP limit counts every log-in
        assert login(api, user.username, PASSWORD, ip=f"198.51.100.{n + 1}").status_code == 200
    assert login(api, user.username, ip="198.51.100.99").status_code == 401


def test_web_login_is_rate_limited_per_ip_and_per_account(client, settings):
    """allauth's own limits guard the web form, with the same THROTTLE_LOGIN rate."""
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": f"{LIMIT}/5m/ip,{LIMIT}/5m/key"}
    user = UserFactory()
    for _ in range(LIMIT):
        response = client.post(
            "/accounts/login/", {"login": user.username, "password": "wrong"}, REMOTE_ADDR="203.0.113.9"
        )
        assert response.status_code == 200  # the form again, with its error
    # Even the right password from a fresh IP is refused while the account is over its limit.
    response = client.post(
        "/accounts/login/", {"login": user.username, "password": PASSWORD}, REMOTE_ADDR="203.0.113.10"
    )
    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_web_signup_is_rate_limited_per_ip(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/30m/ip"}
    statuses = []
    for i in range(3):
        body = {
            "email": f"s{i}@example.com",
            "username": f"signup{i}",
            "password1": "a-Long-pass-123",
            "password2": "a-Long-pass-123",
        }
        statuses.append(client.post("/accounts/signup/", body, REMOTE_ADDR="203.0.113.11").status_code)
        client.logout()
    assert statuses == [302, 302, 429]

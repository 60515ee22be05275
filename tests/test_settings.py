import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from socialsite.api.throttling import parse_rate
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SECURE_HTTPS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_with_zero_warnings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="social.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DEBUG="false", SECRET_KEY="", ALLOWED_HOSTS="social.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    "rate, expected",
    [("25/5m", (25, 300)), ("300/5m", (300, 300)), ("5/30m", (5, 1800)), ("10/s", (10, 1)), ("2/1d", (2, 86400))],
)
def test_rates_read_count_slash_period(rate, expected):
    assert parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["25", "x/5m", "5/5w", "5/m5"])
def test_bad_rates_are_refused(rate):
    with pytest.raises(ValueError):
        parse_rate(rate)


def test_throttle_rates_come_from_the_environment():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'])",
        THROTTLE_LOGIN="7/1m",
        THROTTLE_SIGNUP="3/1h",
        THROTTLE_API="99/5m",
    )
    assert result.returncode == 0, result.stderr
    assert (
        "'login': '7/1m'" in result.stdout and "'signup': '3/1h'" in result.stdout and "'api': '99/5m'" in result.stdout
    )


def test_engines_follow_the_environment():
    """No env: embedded engines. DATABASE_URL/REDIS_URL/CELERY_BROKER_URL: the real ones (always in CI)."""
    if IN_CI:
        assert all(os.environ.get(name) for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"))
    database_url = os.environ.get("DATABASE_URL", "")
    assert connection.vendor == ("postgresql" if database_url.startswith("postgres") else "sqlite")
    cache_backend = settings.CACHES["default"]["BACKEND"]
    layer_backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    if os.environ.get("REDIS_URL"):
        assert cache_backend == "socialsite.cache.SharedPoolRedisCache"
        assert layer_backend == "socialsite.realtime.layers.RedisChannelLayer"
    else:
        assert cache_backend == "django.core.cache.backends.locmem.LocMemCache"
        assert layer_backend == "channels.layers.InMemoryChannelLayer"
    assert settings.CELERY_TASK_ALWAYS_EAGER is not bool(os.environ.get("CELERY_BROKER_URL"))


def test_migrations_are_complete():
    result = manage("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr

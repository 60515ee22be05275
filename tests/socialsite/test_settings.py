import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from django.conf import settings
from django.db import connection

from accounts import tokens
from socialsite.api.throttling import parse_rate
from socialsite.secret_key import checkout_secret_key
from tests.conftest import IN_CI
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


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


def test_a_bad_throttle_rate_refuses_to_start_with_the_setting_named():
    result = manage("check", THROTTLE_API="1000/minute")
    assert result.returncode != 0
    assert "socialsite.E001" in result.stderr and "THROTTLE_API: Bad rate '1000/minute'" in result.stderr


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
        assert cache_backend == "django.core.cache.backends.locmem.LocMemCache"  # a cached 0 stays a hit
        assert layer_backend == "socialsite.realtime.layers.InMemoryChannelLayer"
    assert settings.CELERY_TASK_ALWAYS_EAGER is not bool(os.environ.get("CELERY_BROKER_URL"))


def test_migrations_are_complete():
    result = manage("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_secret_key_a_checkout_makes_its_own_once(tmp_path):
    path = tmp_path / ".secret_key"
    first = checkout_secret_key(path)
    assert len(first) >= 50 and checkout_secret_key(path) == first  # kept: every process agrees
    assert path.stat().st_mode & 0o777 == 0o600
    assert checkout_secret_key(tmp_path / "other") != first  # random per checkout
    assert sorted(tmp_path.iterdir()) == sorted([path, tmp_path / "other"])  # no draft left behind


@pytest.mark.django_db
def test_a_token_signed_with_the_key_once_published_in_the_code_is_refused(api):
    """The outside review forged a JWT with the constant development key and read the account."""
    user = UserFactory()
    now = int(time.time())
    claims = {"token_type": "access", "exp": now + 600, "iat": now, "jti": "x" * 32, "user_id": str(user.pk)}
    claims["cred"] = tokens.credentials_stamp(user)
    forged = jwt.encode(claims, "insecure-dev-key-only-used-when-DEBUG-is-true", algorithm="HS256")
    assert api.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {forged}").status_code == 401
    assert api.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {tokens.access_token(user)}").status_code == 200
    if not os.environ.get("SECRET_KEY"):
        assert (ROOT / ".secret_key").read_text().strip() == settings.SECRET_KEY


def test_a_new_users_terminal_shows_what_matters(tmp_path):
    """The review counted 1,245 lines from make demo over the demo login (load_demo alone: 614
    here); every command printed a kombu warning and SQLite index warnings."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
    }
    migrate = manage("migrate", "--noinput", **env)
    assert migrate.returncode == 0, migrate.stderr
    assert "WARNING" not in migrate.stderr + migrate.stdout and "W040" not in migrate.stderr + migrate.stdout
    demo = manage("load_demo", **env)
    assert demo.returncode == 0, demo.stderr
    output = (demo.stdout + demo.stderr).strip().splitlines()
    assert len(output) <= 5, output[:20]
    assert any(line.startswith("Log in as: demo / ") for line in output), output


def redis_settings(**env):
    """The Redis settings a process would get from this environment (settings.py alone, no setup)."""
    names = ("REDIS_URL", "REDIS_CLUSTER", "CHANNEL_REDIS_URLS", "FEED_REDIS_URL", "FEED_REDIS_CLUSTER")
    clean = {k: v for k, v in os.environ.items() if k not in names}
    code = (
        "import json; from django.conf import settings as s; print(json.dumps([s.CACHES['default']['BACKEND'],"
        " [h['address'] for h in s.CHANNEL_LAYERS['default']['CONFIG'].get('hosts', [])], s.FEED_REDIS_CLUSTER]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "socialsite.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_redis_cluster_takes_the_cache_and_timelines_and_the_channel_layer_shards_elsewhere():
    plain = redis_settings(REDIS_URL="redis://cache:6379/0")
    assert json.loads(plain.stdout) == ["socialsite.cache.SharedPoolRedisCache", ["redis://cache:6379/0"], False]

    refused = redis_settings(REDIS_URL="redis://node-1:7000/0", REDIS_CLUSTER="true")
    assert refused.returncode != 0
    assert "REDIS_CLUSTER=true needs CHANNEL_REDIS_URLS" in refused.stderr

    cluster = redis_settings(
        REDIS_URL="redis://node-1:7000/0",
        REDIS_CLUSTER="true",
        CHANNEL_REDIS_URLS="redis://ws-1:6379/0,redis://ws-2:6379/0",
    )
    assert json.loads(cluster.stdout) == [
        "socialsite.cache.ClusterRedisCache",
        ["redis://ws-1:6379/0", "redis://ws-2:6379/0"],
        True,
    ]

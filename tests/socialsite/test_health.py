"""/healthz says the process answers; /readyz says database and cache are reachable and reports the broker."""

import pytest
from django.conf import settings as django_settings

# A real Redis engine pointed at a port nothing listens on: the connection is refused.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def test_healthz_answers_ok_without_touching_services(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_only_answers_get(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_readyz_reports_every_check_ok(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok"},
        "outbox": {"count": 0, "oldest_seconds": 0},
    }
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_checks_the_real_broker_when_one_is_configured(client):
    """In the embedded default there is no broker and the check passes as skipped."""
    response = client.get("/readyz")
    assert response.json()["checks"]["broker"] == "ok"
    if django_settings.CELERY_TASK_ALWAYS_EAGER:
        assert django_settings.CELERY_BROKER_URL == "memory://localhost/"
    else:
        assert django_settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://"))


@pytest.mark.django_db
def test_readyz_is_503_and_names_the_cache_when_the_cache_is_unreachable(client, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": UNREACHABLE_REDIS}
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "ok"
    assert body["checks"]["cache"].startswith("error: ")
    assert "ConnectionError" in body["checks"]["cache"]
    # Names the failing check and its exception type, never a traceback or a host name.
    assert "127.0.0.1" not in response.content.decode()


# An unreachable broker is checked over HTTP against a real Daphne: tests/e2e/test_daphne_celery.py.

"""The production shape end to end (`python -m socialsite.production`, as `make serve` starts it):
nginx terminating TLS on a free loopback port in front of gunicorn (pages, REST) and Daphne
(/ws/, SSE, long-poll), with the Celery worker and beat it starts when CELERY_BROKER_URL is set.
Everything goes through nginx, as a client's traffic would.

It needs PostgreSQL, Redis, a broker and nginx: skipped without them, failed under CI=true.
"""

import http.client
import json
import shutil
import ssl
import subprocess
import sys
import threading
import time

import pytest
import requests
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from websockets.sync.client import connect

from socialsite.ratelimit import parse_rate
from tests.conftest import require
from tests.e2e.conftest import free_port, receive, receive_event, register_and_login, wait_until
from tests.e2e.test_notifications import read_event
from tests.socialsite.metrics.helpers import samples, total

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

CLIENT_ADDRESS = "127.0.0.2"  # the client's own loopback address: nginx's peer is not nginx's host


class Shape:
    def __init__(self, port, ca_file):
        self.port, self.ca_file = port, ca_file
        self.url = f"https://127.0.0.1:{port}"
        self.ws_url = f"wss://127.0.0.1:{port}/ws/"

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_file)

    def call(self, account, method, path, **kwargs):
        response = requests.request(method, f"{self.url}/api/v1{path}", headers=account.auth, timeout=15, **kwargs)
        assert response.status_code < 400, (method, path, response.status_code, response.text)
        return response.json() if response.content else None


@pytest.fixture
def production(spawn, service_env, tmp_path, monkeypatch):
    require(connection.vendor == "postgresql", "DATABASE_URL is not PostgreSQL: the production shape pools connections")
    require(bool(settings.REDIS_URL), "REDIS_URL not set: the shape's processes share Redis")
    require(not settings.CELERY_TASK_ALWAYS_EAGER, "CELERY_BROKER_URL not set: the shape starts a Celery worker")
    require(bool(shutil.which("nginx")), "nginx is not installed (apt-get install nginx-light)")
    require(bool(shutil.which("openssl")), "openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # requests (and the conftest helpers) trust it
    port = free_port()
    env = {**service_env, "CELERY_CONCURRENCY": "1", "WEB_WORKERS": "2", "WEB_THREADS": "4"}
    env.pop("NUM_PROXIES", None), env.pop("SECURE_PROXY_SSL", None)  # the launcher's defaults behind nginx
    process = spawn(
        "production",
        [sys.executable, "-m", "socialsite.production", "--port", port, "--tls-cert", cert, "--tls-key", key],
        env,
    )
    process.wait_for(lambda: "serving on https://" in process.output(), "'serving on' in its log", timeout=120)
    return Shape(port, str(cert))


def test_pages_rest_sockets_sse_and_long_poll_through_nginx(production):
    # A page and a static file.
    page = requests.get(f"{production.url}/accounts/login/", timeout=15)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    style = requests.get(f"{production.url}/static/css/site.css", timeout=15)
    assert style.status_code == 200 and style.headers["Content-Type"].startswith("text/css")

    # REST with a JWT.
    ana, bo, cy = (register_and_login(production.url) for _ in range(3))
    me = production.call(ana, "GET", "/users/me")
    assert me["id"] == ana.id

    # A WebSocket (upgraded by nginx to Daphne) receives the notification of a follow made over REST,
    # which the shape's own Celery worker makes.
    with connect(
        production.ws_url, additional_headers=ana.auth, ssl=production.ssl_context(), open_timeout=15, close_timeout=2
    ) as ws:
        assert receive(ws) == {"event": "session.ready", "data": {"user_id": ana.id}}
        production.call(bo, "POST", "/users/me/follows", json={"followed_user_id": ana.id})
        frame = receive_event(ws, "notification.new", skip=("follow.new",), timeout=30)
        assert frame["data"]["type"] == "follow" and frame["data"]["actor"]["username"] == bo.username

    # Server-sent events, unbuffered by nginx: the event arrives while the stream is open.
    stream_url = f"{production.url}/api/v1/notifications/stream"
    with requests.get(stream_url, headers=ana.auth, stream=True, timeout=30) as response:
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/event-stream")
        lines = response.iter_lines(decode_unicode=True)
        assert read_event(lines) == {"retry": "3000"}
        production.call(cy, "POST", "/users/me/follows", json={"followed_user_id": ana.id})
        event = read_event(lines)
        while "comment" in event:
            event = read_event(lines)
        assert event["event"] == "notification.new" and event["data"]["actor"]["username"] == cy.username

    # The long-poll waits through nginx and is woken by the next notification.
    latest = production.call(bo, "GET", "/notifications/poll?timeout=0")["since"]
    answer = {}

    def wait():
        query = f"?timeout=20&since={latest}" if latest else "?timeout=20"
        answer["body"] = requests.get(f"{production.url}/api/v1/notifications/poll{query}", headers=bo.auth, timeout=40)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(1)  # the poll is waiting
    production.call(ana, "POST", "/users/me/follows", json={"followed_user_id": bo.id})
    waiter.join(40)
    assert answer["body"].status_code == 200, answer["body"].text
    [row] = answer["body"].json()["results"]
    assert row["type"] == "follow" and row["actor"]["username"] == ana.username

    # /metrics through nginx: a gunicorn worker answers for every process of the shape, which share
    # var/serve/<port>/metrics: sign-ups and follows went to gunicorn, the socket to Daphne, the
    # notifications' tasks to the worker.
    metrics = samples(requests.get(f"{production.url}/metrics", timeout=15).text)
    assert total(metrics, "socialsite_signups_total", via="api") == 3
    follows = {"view": "api-user-follows", "method": "POST", "status": "201"}
    assert total(metrics, "django_http_responses_total_by_status_view_method_total", **follows) == 3
    assert total(metrics, "socialsite_celery_task_duration_seconds_count") > 0
    assert total(metrics, "socialsite_channel_layer_sends_total", layer="redis") > 0


def _login_attempts(address, rate):
    """Sign-in attempts the login throttle (at the server's `rate`) counted for a client address,
    in this fixed window and the one before (socialsite.ratelimit.window_hit's keys)."""
    _, period = parse_rate(rate)
    window = int(time.time() // period)
    return sum(cache.get(f"throttle_login_{address}:{number}") or 0 for number in (window - 1, window))


def test_django_sees_the_client_address_and_scheme_from_nginx(production, service_env):
    """The client connects from 127.0.0.2 and claims another address and scheme; Django rate-limits
    the address nginx saw (NUM_PROXIES=1), and builds https URLs (SECURE_PROXY_SSL)."""
    connection_ = http.client.HTTPSConnection(
        "127.0.0.1", production.port, source_address=(CLIENT_ADDRESS, 0), context=production.ssl_context(), timeout=15
    )
    try:
        connection_.request(
            "POST",
            "/api/v1/auth/jwt/login",
            body=json.dumps({"username": "nobody-here", "password": "wrong-password-1"}),
            headers={
                "Content-Type": "application/json",
                "X-Forwarded-For": "203.0.113.7",
                "X-Forwarded-Proto": "http",
            },
        )
        response = connection_.getresponse()
        assert response.status in (400, 401), response.read()
    finally:
        connection_.close()
    rate = service_env["THROTTLE_LOGIN"]
    assert wait_until(lambda: _login_attempts(CLIENT_ADDRESS, rate), timeout=5)
    assert _login_attempts("203.0.113.7", rate) == 0
    assert _login_attempts("127.0.0.1", rate) == 0  # not nginx's own address either

    # A request that would have been plain HTTP is https to Django: no redirect, secure URLs.
    account = register_and_login(production.url)
    production.call(account, "POST", "/posts", json={"content": "scheme"})
    feed = requests.get(
        f"{production.url}/api/v1/feed", headers={**account.auth, "X-Forwarded-Proto": "http"}, timeout=15
    ).json()
    assert feed["previous"].startswith(f"https://127.0.0.1:{production.port}/api/v1/feed?"), feed["previous"]

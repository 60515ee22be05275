"""/metrics: open with DEBUG, else only for the token or an allowed address (as the project reads
addresses behind its proxies); several processes' series added up from one multiprocess directory."""

import os
import subprocess
import sys
import textwrap

import pytest
from django.test import override_settings

from tests.socialsite.metrics.helpers import samples, total

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-scrape-token"  # noqa: S105 -- a test's own
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def scrape(client, **extra):
    return client.get("/metrics", **extra)


def test_with_debug_it_is_open_and_reads_the_scrape_time_series(client, settings):
    settings.DEBUG = True  # pytest-django runs tests with it off
    response = scrape(client)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    page = samples(response.content.decode())
    assert total(page, "socialsite_collector_up", collector="outbox") == 1
    assert total(page, "socialsite_collector_up", collector="queues") == 1
    assert page["socialsite_outbox_backlog"] == [({}, 0.0)]
    assert page["socialsite_outbox_oldest_age_seconds"] == [({}, 0.0)]


@override_settings(DEBUG=False, METRICS_TOKEN=TOKEN, METRICS_ALLOWED_IPS=[])
def test_outside_debug_only_the_token_opens_it(client):
    refused = scrape(client)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"
    wrong = scrape(client, HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "permission_denied"
    assert scrape(client, HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 404
    assert scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


@override_settings(DEBUG=False, METRICS_TOKEN="", METRICS_ALLOWED_IPS=[])
def test_no_token_set_refuses_any_token(client):
    assert scrape(client, HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert scrape(client, HTTP_AUTHORIZATION="Bearer anything").status_code == 403


@override_settings(DEBUG=False, METRICS_TOKEN="", METRICS_ALLOWED_IPS=["10.0.0.0/8", "fd00::/8"])
def test_an_allowed_address_needs_no_token(client):
    assert scrape(client, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert scrape(client, REMOTE_ADDR="fd00::7").status_code == 200
    assert scrape(client, REMOTE_ADDR="192.168.1.9").status_code == 404
    # No proxy trusted (NUM_PROXIES=0): X-Forwarded-For is the client's to write, so it's ignored.
    assert scrape(client, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 404


def test_behind_nginx_the_address_nginx_appended_counts(client, settings):
    settings.DEBUG = False
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    nginx = "127.0.0.1"
    assert scrape(client, REMOTE_ADDR=nginx, HTTP_X_FORWARDED_FOR="10.4.4.4").status_code == 200
    # A client that forges the header: nginx appends the real peer, which is what counts.
    forged = scrape(client, REMOTE_ADDR=nginx, HTTP_X_FORWARDED_FOR="10.4.4.4, 203.0.113.5")
    assert forged.status_code == 404


WRITER = textwrap.dedent(
    """
    import sys
    from socialsite import metrics

    posts, sockets = int(sys.argv[1]), int(sys.argv[2])
    metrics.POSTS_CREATED.inc(posts)
    metrics.REALTIME_OPEN.labels("websocket").inc(sockets)
    metrics.TASK_SECONDS.labels("feeds.tasks.fanout_post").observe(0.02)
    print("written", flush=True)
    if sys.argv[3] == "stay":
        sys.stdin.read()  # alive until the test closes stdin
    """
)


def test_processes_sharing_a_directory_are_added_up_and_a_dead_ones_gauges_leave(
    client, settings, tmp_path, monkeypatch
):
    settings.DEBUG = True
    directory = tmp_path / "metrics"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "DJANGO_SETTINGS_MODULE": "socialsite.settings"}

    def writer(*args, **kwargs):
        return subprocess.Popen(  # noqa: S603 -- this interpreter, a fixed script
            [sys.executable, "-c", WRITER, *args], cwd=ROOT, env=env, text=True, **kwargs
        )

    alive = writer("2", "3", "stay", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert alive.stdout.readline().strip() == "written"
        exited = writer("5", "4", "exit")
        assert exited.wait(60) == 0  # its atexit marks it dead: its live gauges go

        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
        page = samples(scrape(client).content.decode())
        assert total(page, "socialsite_posts_created_total") == 7
        assert total(page, "socialsite_celery_task_duration_seconds_count", task="feeds.tasks.fanout_post") == 2
        assert page["socialsite_realtime_connections"] == [({"transport": "websocket", "pid": str(alive.pid)}, 3.0)]
        assert total(page, "socialsite_outbox_backlog") == 0  # the scrape-time families come along
    finally:
        alive.stdin.close()
        alive.wait(60)
    page = samples(scrape(client).content.decode())
    assert "socialsite_realtime_connections" not in page  # both gone
    assert total(page, "socialsite_posts_created_total") == 7  # counters stay: they only go up

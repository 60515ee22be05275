"""As an operator tries it: two Daphnes and two Celery workers (prefork) share one
PROMETHEUS_MULTIPROC_DIR; a small load goes through both web processes; /metrics on either one
shows the counters moved by exactly what was done, summed over the processes, the queue depth and
outbox readings, and the workers' task timings."""

import io
import os
import sys
import uuid

import pytest
import requests
from django.core.management import call_command
from django.db import connection

from socialsite.settings import TASK_QUEUES
from tests.conftest import image_bytes, require
from tests.e2e.conftest import free_port, open_socket, receive, register_and_login, wait_until
from tests.socialsite.metrics.helpers import samples, total

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def scrape(daphne):
    response = requests.get(f"{daphne.url}/metrics", timeout=30)
    assert response.status_code == 200, response.text
    return samples(response.text)


def test_two_web_processes_and_two_workers_add_up_on_metrics(spawn, start_daphne, service_env, tmp_path):
    require(connection.vendor == "postgresql", "DATABASE_URL not set: the end-to-end metrics test runs on PostgreSQL")
    require(os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"), "CELERY_BROKER_URL not set (Redis)")
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {**service_env, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    exporter_port = free_port()  # the second worker also serves its host's series, as on a worker-only host
    workers = []
    for number in (1, 2):
        argv = [
            *(sys.executable, "-m", "celery", "-A", "socialsite", "worker", "--loglevel=INFO"),
            *("--pool=prefork", "--concurrency=1", "-n", f"metrics-{number}-{uuid.uuid4().hex[:6]}@%h"),
            *("--without-mingle", "--without-gossip", "--without-heartbeat"),
        ]
        extra = {"METRICS_EXPORTER_PORT": str(exporter_port)} if number == 2 else {}
        workers.append(spawn(f"celery-worker-{number}", argv, {**env, **extra}))
    one, two = start_daphne(PROMETHEUS_MULTIPROC_DIR=str(shared)), start_daphne(PROMETHEUS_MULTIPROC_DIR=str(shared))
    for worker in workers:
        worker.wait_for(lambda w=worker: " ready." in w.output(), "'ready.' in its log")

    # The load, through both web processes in turn: what `manage.py load_http` does, and an upload.
    out = io.StringIO()
    call_command("load_http", url=[one.url, two.url], rounds=2, stdout=out)
    assert "     2  posts (201)" in out.getvalue() and "     4  log-ins (401)" in out.getvalue()
    ana = register_and_login(two.url)
    upload = requests.post(
        f"{one.url}/api/v1/media",
        files={"file": ("a.png", image_bytes(size=(64, 48)), "image/png")},
        headers=ana.auth,
        timeout=30,
    )
    assert upload.status_code == 202, upload.text

    # The workers' side: every fan-out finished and the upload processed (observed in the workers).
    def settled():
        page = scrape(one)
        return (
            total(page, "socialsite_fanout_lag_seconds_count") == 2
            and total(page, "socialsite_media_processing_seconds_count", kind="image", outcome="ready") == 1
        )

    assert wait_until(settled, timeout=60)

    sockets = [open_socket(one, ana), open_socket(two, ana)]  # one on each Daphne
    try:
        for ws in sockets:
            assert receive(ws)["event"] == "session.ready"
        pages = [scrape(one), scrape(two)]
    finally:
        for ws in sockets:
            ws.close()

    for page in pages:  # either web process answers for all of them
        assert total(page, "socialsite_signups_total", via="api") == 5
        assert total(page, "socialsite_logins_total", via="api", result="success") == 5
        assert total(page, "socialsite_logins_total", via="api", result="failure") == 4
        assert total(page, "socialsite_posts_created_total") == 2
        assert total(page, "socialsite_likes_created_total") == 2
        assert total(page, "socialsite_messages_created_total") == 4
        assert total(page, "socialsite_feed_reads_total", source="store") == 4
        assert total(page, "socialsite_fanout_lag_seconds_count") == 2
        # Requests by view and status, summed over both processes (load_http alternates them).
        by_view = "django_http_responses_total_by_status_view_method_total"
        assert total(page, by_view, view="api-posts", method="POST", status="201") == 2
        assert total(page, by_view, view="api-jwt-login", method="POST", status="401") == 4
        assert total(page, "django_http_requests_latency_seconds_by_view_method_count", view="api-feed") == 4
        assert total(page, "django_db_execute_total", vendor="postgresql") > 0
        assert total(page, "django_cache_get_total", backend="redis") > 0
        assert total(page, "socialsite_cache_operation_seconds_count", operation="get") > 0
        assert total(page, "socialsite_channel_layer_sends_total", layer="redis") > 0
        # One socket on each Daphne: two processes' live gauges.
        sockets = [(labels["pid"], value) for labels, value in page["socialsite_realtime_connections"]]
        assert sorted(value for _, value in sockets if value) == [1.0, 1.0]
        assert len({pid for pid, value in sockets if value}) == 2
        # Read at scrape time: every queue's depth from the broker, the outbox from the database.
        assert {labels["queue"] for labels, _ in page["socialsite_celery_queue_length"]} == set(TASK_QUEUES)
        assert total(page, "socialsite_collector_up", collector="queues") == 1
        assert total(page, "socialsite_collector_up", collector="outbox") == 1
        assert "socialsite_outbox_backlog" in page and "socialsite_outbox_oldest_age_seconds" in page
        # Timed in the workers' pool processes: run time and time waiting in the queue. At least:
        # the test broker may hold earlier runs' tasks, which these workers take too (no-ops).
        assert total(page, "socialsite_celery_task_duration_seconds_count", task="feeds.tasks.fanout_post") >= 2
        assert total(page, "socialsite_celery_tasks_total", task="posts.tasks.process_media", state="SUCCESS") >= 1
        assert total(page, "socialsite_celery_task_queue_wait_seconds_count", task="feeds.tasks.fanout_post") >= 2

    # The worker's own exporter: the same directory, so the same sums (no scrape-time readings).
    exported = samples(requests.get(f"http://127.0.0.1:{exporter_port}/metrics", timeout=30).text)
    assert total(exported, "socialsite_celery_task_duration_seconds_count", task="feeds.tasks.fanout_post") >= 2
    assert total(exported, "socialsite_posts_created_total") == 2
    assert "socialsite_celery_queue_length" not in exported

    # Closed sockets leave the gauges (the consumers' disconnect runs shortly after the close).
    assert wait_until(lambda: total(scrape(one), "socialsite_realtime_connections") == 0, timeout=15)

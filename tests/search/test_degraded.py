"""Elasticsearch down: searches answer from the database, and after BREAKER_FAIL_MAX failures
without asking Elasticsearch at all; once it is back, the breaker lets a trial call through and
closes by itself. Elasticsearch is a local HTTP server the test sets to answer 503 or hits."""

import json
from datetime import UTC, datetime

import pytest
from celery.exceptions import Ignore
from elasticsearch.dsl.connections import connections

from search import tasks
from socialsite import breakers
from socialsite.models import OutboxMessage
from tests.outage import HTTPStandIn, half_open_soon, timed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_breakers")]
URL = "/api/v1/search"
ES_HEADERS = {"Content-Type": "application/json", "X-Elastic-Product": "Elasticsearch"}


def unavailable(method, path, body):
    return 503, ES_HEADERS, b'{"error": "unavailable", "status": 503}'


def hits(*ids):
    def answer(method, path, body):
        payload = {"took": 1, "timed_out": False, "hits": {"hits": [{"_id": str(pk)} for pk in ids]}}
        return 200, ES_HEADERS, json.dumps(payload).encode()

    return answer


@pytest.fixture
def elasticsearch(settings):
    """A stand-in Elasticsearch at ELASTICSEARCH_URL (no client retries: one call, one request)."""
    server = HTTPStandIn(unavailable)
    saved_conns, saved_kwargs = dict(connections._conns), dict(connections._kwargs)
    connections.create_connection("default", hosts=[server.url], max_retries=0, request_timeout=5)
    settings.ELASTICSEARCH_URL = server.url
    yield server
    connections._conns, connections._kwargs = saved_conns, saved_kwargs
    server.close()


def found(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_search_answers_from_the_database_fails_fast_and_recovers(api, ana, post_by, settings, elasticsearch):
    settings.ELASTICSEARCH_URL = ""  # indexed by the database's own backend (SQLite's FTS5 table)
    first, second = post_by(ana, "otters by the river"), post_by(ana, "otters in the sea")
    settings.ELASTICSEARCH_URL = elasticsearch.url

    # Elasticsearch answers 503: each search still answers, from the database.
    for _ in range(settings.BREAKER_FAIL_MAX):
        assert sorted(found(api.get(URL, {"query": "otters"}))) == sorted([str(first.pk), str(second.pk)])
    assert elasticsearch.requests == settings.BREAKER_FAIL_MAX
    assert breakers.is_open("elasticsearch")

    # Open: no request reaches Elasticsearch, the database answers.
    open_ms = []
    for _ in range(5):
        with timed(open_ms):
            assert len(found(api.get(URL, {"query": "otters"}))) == 2
    assert elasticsearch.requests == settings.BREAKER_FAIL_MAX
    print(f"searches while open: {min(open_ms):.1f}-{max(open_ms):.1f} ms")

    # Back, answering only `second`: after the reset time one trial call closes the breaker.
    elasticsearch.answer = hits(second.pk)
    half_open_soon(settings)
    assert found(api.get(URL, {"query": "otters"})) == [str(second.pk)]  # Elasticsearch answered
    assert elasticsearch.requests == settings.BREAKER_FAIL_MAX + 1
    assert breakers.breaker("elasticsearch").current_state == "closed"


def test_a_missing_document_does_not_count(settings, elasticsearch):
    """A 404 is Elasticsearch answering about the request: the breaker stays closed."""
    elasticsearch.answer = lambda method, path, body: (404, ES_HEADERS, b'{"found": false}')
    for _ in range(settings.BREAKER_FAIL_MAX + 2):
        tasks.remove_post("0e4b1b8e-3a0c-4c58-9a31-4f5e8a1e2a10")  # deleting a document never indexed
    assert elasticsearch.requests == settings.BREAKER_FAIL_MAX + 2
    assert breakers.breaker("elasticsearch").current_state == "closed"


def test_indexing_waits_for_the_breaker_without_calling(
    api, ana, post_by, settings, elasticsearch, django_capture_on_commit_callbacks
):
    """With the breaker open an indexing task fails at once, and in process the outbox keeps it
    for its relay (a worker re-queues it for when the breaker half-opens: breakers.retry_later)."""
    for _ in range(settings.BREAKER_FAIL_MAX):
        api.get(URL, {"query": "otters"})  # 503s
    assert breakers.is_open("elasticsearch")
    tried = elasticsearch.requests
    with django_capture_on_commit_callbacks(execute=True):
        post = post_by(ana, "otters while the engine is down")
    assert elasticsearch.requests == tried  # the task didn't try
    row = OutboxMessage.objects.get(task="search.tasks.index_post", args=[str(post.pk)])
    assert "CircuitBreakerError" in row.last_error


def test_a_worker_queues_indexing_again_for_the_trial_call_without_spending_a_retry(api, settings, elasticsearch):
    """In a worker (not in process) the task is published again with its retries unchanged and
    an ETA at the breaker's half-open time (seen through Celery's before_task_publish; the message
    is purged from the test's broker afterwards)."""
    from celery.signals import before_task_publish

    from socialsite.celery import app

    for _ in range(settings.BREAKER_FAIL_MAX):
        api.get(URL, {"query": "otters"})  # 503s
    assert breakers.is_open("elasticsearch")
    published = []

    def record(sender=None, headers=None, **kwargs):
        published.append((sender, headers["retries"], headers["eta"]))

    before_task_publish.connect(record, weak=False)
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    post_id = "0e4b1b8e-3a0c-4c58-9a31-4f5e8a1e2a10"
    tasks.index_post.push_request(args=[post_id], kwargs={}, retries=2, is_eager=False)
    try:
        with pytest.raises(Ignore):  # this run ends; the published copy runs later
            tasks.index_post.run(post_id)
    finally:
        tasks.index_post.pop_request()
        before_task_publish.disconnect(record)
        app.conf.task_always_eager = eager
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge("search")
    assert [(name, retries) for name, retries, _ in published] == [("search.tasks.index_post", 2)]
    eta = datetime.fromisoformat(published[0][2])
    assert 25 <= (eta - datetime.now(UTC)).total_seconds() <= 31  # when the breaker lets a call through

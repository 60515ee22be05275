"""End to end: a request followed into its Celery task by its JSON log lines and by its trace.

gunicorn (the WSGI process that serves REST in production), a prefork Celery worker and Daphne
(the socket) run with LOG_FORMAT=json and OTEL_EXPORTER_OTLP_ENDPOINT pointing at a small OTLP/HTTP
receiver this test runs: a real HTTP server decoding the protobuf with opentelemetry-proto. A post
by an author with a follower queues the fan-out through the outbox; then the worker's JSON lines
for that task carry the response's X-Request-ID, the follower's socket event carries it too, and
the receiver holds Django's server span and the Celery task span in one trace. A read through
Daphne is a server span too (ASGI).
"""

import json
import os
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.conftest import require
from tests.e2e.conftest import free_port, ready_socket, receive, register_and_login, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]

ROOT = Path(__file__).resolve().parents[2]


class Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver: POST /v1/traces with an ExportTraceServiceRequest."""

    daemon_threads = True

    def __init__(self):
        self.spans = []  # (service name, span)
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", free_port()), _ReceiverHandler)

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def received(self):
        with self.lock:
            return list(self.spans)


class _ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        export = ExportTraceServiceRequest()
        export.ParseFromString(body)
        with self.server.lock:
            for resource_spans in export.resource_spans:
                attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    self.server.spans.extend((attributes.get("service.name"), span) for span in scope_spans.spans)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200 if self.path == "/v1/traces" else 404)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def traced_env(service_env, receiver):
    require(bool(os.environ.get("REDIS_URL")), "REDIS_URL not set: the socket event crosses processes over Redis")
    require(bool(os.environ.get("CELERY_BROKER_URL")), "CELERY_BROKER_URL not set: a real worker needs a broker")
    return {
        **service_env,
        "LOG_FORMAT": "json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # ms: spans leave each process quickly
        "EMAIL_URL": "dummymail://",  # no confirmation emails printed among the log lines
    }


def json_lines(text):
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))  # every JSON-looking line must parse
    return lines


def test_a_request_is_followed_into_its_task_by_its_log_lines_and_its_trace(receiver, traced_env, spawn, start_daphne):
    # The receiver first: it stops last, so the processes' last spans at exit find it listening.
    port = free_port()
    gunicorn = spawn(
        "gunicorn",
        [
            *(sys.executable, "-m", "gunicorn", "-c", ROOT / "deploy" / "gunicorn.conf.py"),
            *("-b", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2", "--graceful-timeout", "1"),
            "socialsite.wsgi:application",
        ],
        {**traced_env, "OTEL_SERVICE_NAME": "socialsite-web"},
    )
    worker = spawn(
        "celery-worker",
        [
            *(sys.executable, "-m", "celery", "-A", "socialsite", "worker", "--loglevel=INFO"),
            *("--pool=prefork", "--concurrency=1", "-n", f"logs-{uuid.uuid4().hex[:8]}@%h"),
            *("--without-mingle", "--without-gossip", "--without-heartbeat"),
        ],
        {**traced_env, "OTEL_SERVICE_NAME": "socialsite-worker"},
    )
    daphne = start_daphne(**{**traced_env, "OTEL_SERVICE_NAME": "socialsite-realtime"})
    web = f"http://127.0.0.1:{port}"

    def web_up():
        try:
            return requests.get(f"{web}/healthz", timeout=1).status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            return False

    gunicorn.wait_for(web_up, "answer on /healthz")
    worker.wait_for(lambda: " ready." in worker.output(), "'ready.' in its log")

    author, reader = register_and_login(web), register_and_login(web)
    response = requests.post(
        f"{web}/api/v1/users/{reader.id}/follows", json={"followed_user_id": author.id}, headers=reader.auth, timeout=15
    )
    assert response.status_code == 201, response.text

    with ready_socket(daphne, reader) as ws:
        response = requests.post(
            f"{web}/api/v1/posts", json={"content_type": "text", "content": "traced"}, headers=author.auth, timeout=15
        )
        assert response.status_code == 201, response.text
        request_id = response.headers["X-Request-ID"]
        post_id = response.json()["id"]
        # The follower's socket hears of the post from the worker's push_batch, two tasks later.
        frame = receive(ws, timeout=20)
        while frame["event"] != "feed.new_post":
            frame = receive(ws, timeout=20)
    assert frame["data"]["post_id"] == post_id
    assert frame["request_id"] == request_id

    # Daphne's and gunicorn's own lines (their servers', Django's, ours) are all JSON; the socket's
    # handshake is logged as Daphne's access line.
    for process in (daphne.process, gunicorn):
        assert all(line.startswith("{") for line in process.output().splitlines() if line.strip()), process.output()
    assert any(
        line.get("logger") == "daphne.access" and line["event"] == "WSCONNECT /ws/"
        for line in json_lines(daphne.process.output())
    )

    # gunicorn's line for the request and the worker's lines for the tasks it queued.
    def web_line():
        return [
            line
            for line in json_lines(gunicorn.output())
            if line.get("event") == "request_finished" and line.get("request_id") == request_id
        ]

    assert wait_until(web_line, timeout=10), gunicorn.output()[-3000:]
    (finished,) = web_line()
    assert finished["user_id"] == author.id
    assert finished["view"] == "api-posts"
    assert finished["code"] == 201
    assert finished["duration_ms"] > 0

    def task_lines():
        return [line for line in json_lines(worker.output()) if line.get("request_id") == request_id]

    def fanned_out():
        started = {line.get("task") for line in task_lines() if line.get("event") == "task_started"}
        return {"feeds.tasks.fanout_post", "feeds.tasks.push_batch"} <= started

    assert wait_until(fanned_out, timeout=15), worker.output()[-5000:]
    succeeded = [line for line in task_lines() if line.get("event") == "task_succeeded"]
    assert len(succeeded) >= 2 and all(line["task_id"] for line in succeeded), succeeded
    # Celery's own lines (logging.getLogger) come out as JSON with the id too.
    assert any(
        "feeds.tasks.fanout_post" in line["event"] and line["logger"].startswith("celery") for line in task_lines()
    )

    # One trace from the request's server span to the tasks' spans.
    def spans_of_the_request():
        spans = receiver.received()
        servers = [
            span
            for service, span in spans
            if service == "socialsite-web" and span.kind == Span.SPAN_KIND_SERVER and "posts" in span.name
        ]
        if not servers:
            return None
        trace_id = servers[-1].trace_id
        same = [(service, span) for service, span in spans if span.trace_id == trace_id]
        names = {span.name for service, span in same if service == "socialsite-worker"}
        if {"run/feeds.tasks.fanout_post", "run/feeds.tasks.push_batch"} <= names:
            return servers[-1], same
        return None

    assert wait_until(spans_of_the_request, timeout=15), sorted(
        {(service, span.name) for service, span in receiver.received()}
    )
    server, same = spans_of_the_request()
    by_id = {span.span_id: span for _, span in same}
    fanout = next(span for service, span in same if span.name == "run/feeds.tasks.fanout_post")
    assert fanout.kind == Span.SPAN_KIND_CONSUMER
    # fanout_post's parent is the web process's publish, whose parent is the request's server span.
    publish = by_id[fanout.parent_span_id]
    assert publish.kind == Span.SPAN_KIND_PRODUCER
    assert publish.parent_span_id == server.span_id
    # psycopg and Redis spans in the same trace (the post's INSERT; the timeline's write).
    kinds = {(service, span.kind) for service, span in same}
    assert ("socialsite-web", Span.SPAN_KIND_CLIENT) in kinds and ("socialsite-worker", Span.SPAN_KIND_CLIENT) in kinds

    # Daphne's requests are traced too (the ASGI instrumentation): a read through it is a server span.
    response = requests.get(f"{daphne.url}/api/v1/posts/{post_id}", headers=reader.auth, timeout=15)
    assert response.status_code == 200, response.text

    def realtime_server_span():
        return any(
            service == "socialsite-realtime" and span.kind == Span.SPAN_KIND_SERVER and "posts" in span.name
            for service, span in receiver.received()
        )

    assert wait_until(realtime_server_span, timeout=15), sorted(
        {(service, span.name) for service, span in receiver.received()}
    )

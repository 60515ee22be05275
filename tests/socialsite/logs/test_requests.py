"""X-Request-ID in and out, and the JSON lines of a request (socialsite.logs)."""

import logging
import re
import uuid

import pytest
from structlog.contextvars import bound_contextvars

pytestmark = pytest.mark.django_db

GENERATED = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.mark.parametrize(
    "sent",
    [
        "abc-123",
        "5b0c0f7e-8f5e-4c1e-9d1e-2f0a8d3c9b11",
        "0f1e2d3c4b5a69788796a5b4c3d2e1f0",  # nginx's $request_id
        "Root.1:a_b",
        "x" * 64,
    ],
)
def test_a_sane_x_request_id_is_kept_and_returned(client, sent):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=sent)
    assert response.status_code == 200
    assert response["X-Request-ID"] == sent


@pytest.mark.parametrize(
    "sent", [None, "", "has space", "x" * 65, "-leading-dash", 'quo"te', "new\nline", "ünïcode", "a/b", "a=b"]
)
def test_any_other_x_request_id_is_replaced_by_a_generated_one(client, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}
    first = client.get("/healthz", **headers)["X-Request-ID"]
    second = client.get("/healthz", **headers)["X-Request-ID"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second)
    assert first != second  # one per request


def test_a_requests_lines_are_json_with_its_id_user_view_and_duration(client_for, user, json_log):
    response = client_for(user).get("/api/v1/feed?access_token=leak-me&limit=5", HTTP_X_REQUEST_ID="req-json-1")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-json-1"

    lines = [line for line in json_log() if line.get("request_id") == "req-json-1"]
    by_event = {line["event"]: line for line in lines}
    assert set(by_event) == {"request_finished"}  # one line per request, at its end
    finished = by_event["request_finished"]
    assert finished["user_id"] == str(user.pk)  # a bearer token: DRF's user, bound at the end
    assert finished["view"] == "api-feed"
    assert finished["code"] == 200
    assert isinstance(finished["duration_ms"], float) and finished["duration_ms"] >= 0
    assert finished["level"] == "info" and finished["logger"] == "django_structlog.middlewares.request"
    assert finished["timestamp"].endswith("Z")
    # Never a token: the query string's is masked, the Authorization header isn't logged.
    assert finished["request"] == "GET /api/v1/feed?access_token=***&limit=5"
    assert "leak-me" not in str(lines) and "Bearer" not in str(lines)


def test_an_anonymous_requests_user_id_is_null_and_a_404_names_no_view(client, json_log):
    client.get("/healthz", HTTP_X_REQUEST_ID="req-anon-1")
    client.get("/no-such-page", HTTP_X_REQUEST_ID="req-404-1")
    finished = {line["request_id"]: line for line in json_log() if line.get("event") == "request_finished"}
    assert finished["req-anon-1"]["user_id"] is None
    assert finished["req-anon-1"]["view"] == "healthz"
    assert finished["req-404-1"]["code"] == 404
    assert finished["req-404-1"]["view"] is None
    assert finished["req-404-1"]["level"] == "warning"


def test_standard_library_loggers_come_out_as_json_with_the_bound_context(json_log):
    logger = logging.getLogger("socialsite.somewhere")
    with bound_contextvars(request_id="req-stdlib-1", user_id="u-1"):
        logger.warning("broker refused %s (%s)", "a.task", "down", extra={"rows": 3})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("it failed")
    logger.info("after the request")
    warning, failure, after = json_log()
    assert warning == {
        "event": "broker refused a.task (down)",
        "request_id": "req-stdlib-1",
        "user_id": "u-1",
        "level": "warning",
        "logger": "socialsite.somewhere",
        "timestamp": warning["timestamp"],
        "rows": 3,
    }
    assert failure["event"] == "it failed" and failure["level"] == "error"
    assert "ValueError: boom" in failure["exception"]
    assert "request_id" not in after


def test_secrets_passed_as_fields_are_masked(json_log):
    import structlog

    structlog.get_logger("socialsite.somewhere").info(
        "signed in", password="hunter2", access_token="eyJ", authorization="Bearer x", user_id=str(uuid.uuid4())
    )
    (line,) = json_log()
    assert line["password"] == line["access_token"] == line["authorization"] == "***"
    assert GENERATED.fullmatch(line["user_id"])


@pytest.mark.urls("tests.socialsite.logs.urls")
def test_a_failing_request_returns_its_id_and_logs_request_failed_with_the_traceback(client, json_log):
    client.raise_request_exception = False
    response = client.get("/fail", HTTP_X_REQUEST_ID="req-fail-1")
    assert response.status_code == 500
    assert response["X-Request-ID"] == "req-fail-1"
    (failed,) = [line for line in json_log() if line.get("event") == "request_failed"]
    assert failed["request_id"] == "req-fail-1"
    assert failed["view"] == "test-fail" and failed["code"] == 500 and failed["level"] == "error"
    assert "RuntimeError: the view failed" in failed["exception"]

"""The request id travels with the tasks a request queues: kept on the outbox row, put into the
task's headers whenever the row is published (after the response, or by the relay later), where
the worker's django-structlog receiver binds it (the worker itself: tests/e2e/test_logs_traces.py)."""

import pytest
from django.db import transaction
from structlog.contextvars import bound_contextvars, get_contextvars

from socialsite import outbox
from socialsite.models import OutboxMessage
from tests.socialsite.outbox import recorder

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_requests_tasks_carry_its_request_id_on_the_row_and_in_the_headers(
    client_for, user, other_user, refused_publishes
):
    client_for(other_user).post(
        f"/api/v1/users/{other_user.pk}/follows", {"followed_user_id": str(user.pk)}, format="json"
    )
    OutboxMessage.objects.all().delete()
    refused_publishes.clear()
    outbox.breaker.closed_at = 0.0

    response = client_for(user).post(
        "/api/v1/posts", {"content_type": "text", "content": "hello"}, format="json", HTTP_X_REQUEST_ID="req-task-1"
    )
    assert response.status_code == 201, response.content
    rows = list(OutboxMessage.objects.all())
    assert rows and {row.request_id for row in rows} == {"req-task-1"}, [(r.task, r.request_id) for r in rows]
    assert {row.traceparent for row in rows} == {""}  # tracing is off here
    # Published after the response, when the request's context is gone: the id came from the row.
    (first, headers), *_ = refused_publishes
    assert first in {row.task for row in rows}
    assert headers["__django_structlog__"]["request_id"] == "req-task-1"
    assert get_contextvars() == {}

    # And by the relay, in another context altogether.
    refused_publishes.clear()
    OutboxMessage.objects.update(due_at=rows[0].created_at)
    with bound_contextvars(task_id="relay-task"):
        outbox.relay()
    (_, headers), *_ = refused_publishes
    assert headers["__django_structlog__"]["request_id"] == "req-task-1"
    assert headers["__django_structlog__"]["parent_task_id"] == "relay-task"


def test_a_task_queued_by_a_task_keeps_the_first_requests_id():
    # In a worker, django-structlog binds the request id from the task's headers; what that task
    # queues in turn is written with it.
    with bound_contextvars(request_id="req-chain-1", task_id="t-1"), transaction.atomic():
        outbox.enqueue(recorder.record, "x")
        row = OutboxMessage.objects.get()
    assert row.request_id == "req-chain-1"


def test_a_task_queued_outside_any_request_has_no_request_id(refused_publishes):
    with transaction.atomic():
        outbox.enqueue(recorder.record, "y")
    row = OutboxMessage.objects.get()
    assert row.request_id == ""
    (_, headers), *_ = refused_publishes
    assert "request_id" not in headers["__django_structlog__"]

"""The transactional outbox: a task is a row written with the change, published after the commit,
kept and relayed when publishing fails. Broker outages over real processes: tests/faults/."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from accounts import services as accounts_services
from posts import services as posts_services
from posts.models import Like
from socialsite import outbox
from socialsite.middleware import PublishAfterResponseMiddleware
from socialsite.models import OutboxMessage
from tests.factories import UserFactory
from tests.socialsite.outbox.recorder import CALLS, boom, record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()
    outbox.breaker.closed_at = 0.0
    yield


def rows(task=None):
    found = OutboxMessage.objects.all()
    return list(found.filter(task=task) if task else found)


def test_a_task_is_a_row_in_the_transaction_and_published_after_the_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        outbox.enqueue(record, "a")
        (row,) = rows("tests.outbox.record")
        assert (row.args, row.queue, row.attempts) == (["a"], "", 0)
        assert CALLS == []  # nothing leaves before the commit
    assert CALLS == [] and len(callbacks) == 1
    callbacks[0]()  # the commit: published (here, run in process) and forgotten
    assert CALLS == ["a"]
    assert rows() == []


def test_a_rolled_back_change_takes_its_tasks_with_it(django_capture_on_commit_callbacks):
    author = UserFactory()
    OutboxMessage.objects.all().delete()  # the new account's own (search indexing)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        posts_services.post_create(author=author, content_type="text", content="never")
        assert rows("feeds.tasks.fanout_post")
        raise RuntimeError("the change fails after its services ran")
    assert callbacks == [] and rows() == []


def test_a_batch_writes_its_tasks_in_one_insert_when_it_ends(
    django_capture_on_commit_callbacks, django_assert_num_queries
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        with outbox.batch():
            with django_assert_num_queries(0):
                outbox.enqueue(record, "a")
                with outbox.batch():  # joins the outer one
                    outbox.enqueue(record, "b")
            assert rows() == []
        assert [row.args for row in rows()] == [["a"], ["b"]]
    callbacks[0]()
    assert CALLS == ["a", "b"] and rows() == []


def test_a_batch_left_by_an_exception_writes_nothing():
    with pytest.raises(RuntimeError), outbox.batch():
        outbox.enqueue(record, "a")
        raise RuntimeError("the change fails")
    assert rows() == []
    outbox.enqueue(record, "b")  # no batch open any more: written at once
    assert [row.args for row in rows()] == [["b"]]


def test_every_side_effect_of_a_post_is_in_the_outbox_with_the_post(django_capture_on_commit_callbacks):
    author, fan = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=False):
        accounts_services.follow_create(follower=fan, followed_user_id=author.pk)
        post = posts_services.post_create(author=author, content_type="text", content="hello #news")
    written = {row.task for row in rows() if row.args and row.args[0] == str(post.pk)}
    assert {"feeds.tasks.fanout_post", "notifications.tasks.on_post_published"} <= written


def test_ids_are_stored_as_the_worker_receives_them():
    author = UserFactory()
    with transaction.atomic():
        outbox.enqueue(record, author.pk, [author.pk], queue="search")
        (row,) = rows("tests.outbox.record")
    assert row.args == [str(author.pk), [str(author.pk)]] and row.queue == "search"


def test_a_task_failing_in_process_keeps_its_row_and_the_caller_succeeds(act, caplog):
    """The embedded default runs tasks in process: a failure is logged and retried by the relay later,
    never raised into the request that committed."""
    act(outbox.enqueue, boom, 1)
    (row,) = rows()
    assert row.attempts == 1 and row.last_error == "RuntimeError: boom 1"
    assert row.due_at > timezone.now() + timedelta(seconds=5)  # backed off
    assert "task tests.outbox.boom failed in process" in caplog.text


def test_the_relay_publishes_rows_that_are_due_and_only_those():
    with transaction.atomic():  # on_commit callbacks don't run here: rows the fast path never published
        outbox.enqueue(record, "due")
        outbox.enqueue(record, "not yet")
    OutboxMessage.objects.filter(args=["due"]).update(due_at=timezone.now() - timedelta(seconds=1))
    assert outbox.relay() == 1
    assert CALLS == ["due"]
    assert [row.args for row in rows()] == [["not yet"]]


def test_the_relay_backs_off_a_task_that_keeps_failing():
    with transaction.atomic():
        outbox.enqueue(boom, 2)
    OutboxMessage.objects.update(due_at=timezone.now())
    assert outbox.relay() == 0
    (row,) = rows()
    assert row.attempts == 1 and row.due_at > timezone.now()
    assert outbox.relay() == 0  # not due again yet
    assert rows()[0].attempts == 1


def test_the_relay_works_in_batches(settings):
    settings.OUTBOX_RELAY_BATCH = 3
    with transaction.atomic():
        outbox.enqueue_many((record, (n,), "") for n in range(7))
    OutboxMessage.objects.update(due_at=timezone.now())
    assert outbox.relay() == 7
    assert sorted(CALLS) == list(range(7)) and rows() == []


def test_backlog_counts_what_waits_and_how_old_it_is():
    assert outbox.backlog() == {"count": 0, "oldest_seconds": 0}
    with transaction.atomic():
        outbox.enqueue_many((record, (n,), "") for n in range(3))
    OutboxMessage.objects.filter(args=[0]).update(created_at=timezone.now() - timedelta(minutes=2))
    backlog = outbox.backlog()
    assert backlog["count"] == 3 and 119 <= backlog["oldest_seconds"] <= 130


def test_readyz_shows_the_backlog(client):
    with transaction.atomic():
        outbox.enqueue(record, "waiting")
    body = client.get("/readyz").json()
    assert body["status"] == "ok" and body["outbox"]["count"] == 1


def test_a_like_and_its_notification_task_commit_together(act, client_for):
    author, fan = UserFactory(), UserFactory()
    post = act(posts_services.post_create, author=author, content_type="text", content="like me")
    OutboxMessage.objects.all().delete()
    response = client_for(fan).post(f"/api/v1/posts/{post.pk}/likes")
    assert response.status_code == 201, response.content
    assert Like.objects.filter(post=post, user=fan).exists()
    assert [row.args for row in rows("notifications.tasks.on_like")] == [[str(fan.pk), str(post.pk)]]


def _writing_view(response_class, seen):
    def view(request):
        with transaction.atomic():
            outbox.enqueue(record, "after")
        seen.append(list(CALLS))  # committed by now
        return response_class(["ok"])

    return view


@pytest.mark.django_db(transaction=True)
def test_with_a_broker_a_request_publishes_what_it_committed_once_its_response_is_sent(rf, refused_publishes):
    seen = []
    response = PublishAfterResponseMiddleware(_writing_view(HttpResponse, seen))(rf.post("/write"))
    assert refused_publishes == []
    assert [row.args for row in rows()] == [["after"]]  # committed, waiting for the response to go
    response.close()  # what the server does once it has written the response
    assert [name for name, _ in refused_publishes] == ["tests.outbox.record"]
    assert [row.args for row in rows()] == [["after"]]  # refused here: kept for the relay


@pytest.mark.django_db(transaction=True)
def test_a_streaming_response_does_not_hold_back_what_its_request_committed(rf, refused_publishes):
    seen = []
    PublishAfterResponseMiddleware(_writing_view(StreamingHttpResponse, seen))(rf.get("/stream"))
    assert [name for name, _ in refused_publishes] == ["tests.outbox.record"]


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_a_request_runs_its_tasks_at_the_commit(rf):
    seen = []
    response = PublishAfterResponseMiddleware(_writing_view(HttpResponse, seen))(rf.post("/write"))
    assert seen == [["after"]] and rows() == []  # ran before the view answered: its result can be in the answer
    response.close()
    assert CALLS == ["after"]


def test_outside_a_request_rows_are_published_at_the_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outbox.enqueue(record, "now")
    assert CALLS == ["now"] and rows() == []

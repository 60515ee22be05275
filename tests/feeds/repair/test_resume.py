"""A fan-out that stopped (its worker killed, its task lost with the broker) is found by the
sweeper and continues where it stopped. Killed workers over real processes: tests/faults/."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from feeds import services
from feeds.models import Fanout, FanoutBatch
from feeds.store import get_store, home_key
from posts import services as posts_services
from socialsite.models import OutboxMessage
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def timeline(user):
    (entries,) = get_store().range_many([home_key(user.pk)], count=50)
    return [entry.post_id for entry in entries]


def stall(post, seconds=600):
    Fanout.objects.filter(post=post).update(updated_at=timezone.now() - timedelta(seconds=seconds))


def queued(task):
    return sorted(row.args for row in OutboxMessage.objects.filter(task=task))


@pytest.fixture
def fans(follow, client_for, settings):
    settings.FEED_FANOUT_BATCH = 2
    author, fans = UserFactory(), UserFactory.create_batch(5)
    for fan in fans:
        follow(fan, author)
        client_for(fan).get("/api/v1/feed")  # builds their timelines
    OutboxMessage.objects.all().delete()
    return author, fans


def test_publishing_owes_a_fanout_in_the_same_transaction(fans):
    author, _ = fans
    post = posts_services.post_create(author=author, content_type="text", content="hi")  # on_commit not run
    assert Fanout.objects.get(post=post).status == Fanout.Status.PENDING
    assert queued("feeds.tasks.fanout_post") == [[str(post.pk)]]


def test_a_lost_plan_is_queued_again(fans, act):
    author, people = fans
    post = posts_services.post_create(author=author, content_type="text", content="lost plan")
    OutboxMessage.objects.all().delete()  # as if the broker lost the task
    assert services.resume_stalled() == 0  # not stalled yet
    stall(post)
    assert act(services.resume_stalled) == 1  # queued again; the plan and its batches run
    assert Fanout.objects.get(post=post).status == Fanout.Status.DONE
    for fan in people:
        assert str(post.pk) in timeline(fan)


def test_a_stopped_fanout_resumes_from_its_undone_batches(fans, act):
    author, people = fans
    post = posts_services.post_create(author=author, content_type="text", content="half done")
    batches = services.fanout_post(post_id=post.pk)
    assert len(batches) == 3
    assert services.push_batch(post_id=post.pk, number=batches[0].number) == 2  # then the worker died
    OutboxMessage.objects.all().delete()  # and the other batches' tasks were lost
    stall(post)
    act(services.resume_stalled)
    fanout = Fanout.objects.get(post=post)
    assert (fanout.status, fanout.batches_done, fanout.timelines, fanout.attempts) == ("done", 3, 5, 2)
    assert not FanoutBatch.objects.filter(fanout=fanout).exists()
    for fan in people:
        assert timeline(fan).count(str(post.pk)) == 1


def test_resuming_queues_only_the_undone_batches(fans):
    author, _ = fans
    post = posts_services.post_create(author=author, content_type="text", content="half done")
    first, *rest = services.fanout_post(post_id=post.pk)
    services.push_batch(post_id=post.pk, number=first.number)
    OutboxMessage.objects.all().delete()
    stall(post)
    assert services.resume_stalled() == 1
    assert queued("feeds.tasks.push_batch") == sorted([str(post.pk), batch.number] for batch in rest)
    assert services.resume_stalled() == 0  # the resume counts as a step: not stalled again at once


def test_a_fanout_still_moving_is_left_alone(fans, settings):
    author, _ = fans
    post = posts_services.post_create(author=author, content_type="text", content="busy")
    services.fanout_post(post_id=post.pk)
    OutboxMessage.objects.all().delete()
    stall(post, seconds=settings.FEED_FANOUT_STALL_SECONDS - 30)
    assert services.resume_stalled() == 0
    assert OutboxMessage.objects.count() == 0


def test_manage_py_repair_resumes_it_too(fans, act, capsys):
    author, people = fans
    post = posts_services.post_create(author=author, content_type="text", content="by hand")
    OutboxMessage.objects.all().delete()
    stall(post)
    act(call_command, "repair")
    lines = dict(line.rsplit(None, 1) for line in capsys.readouterr().out.splitlines())
    assert lines["stalled fan-outs resumed"] == "1"
    assert all(str(post.pk) in timeline(fan) for fan in people)

"""End to end: the hybrid fan-out home feed on real Daphne, a real Celery worker and real Redis.

FEED_FANOUT_THRESHOLD=3 for Daphne and the worker: an author with three followers is a
celebrity whose posts are pulled at read time; an author below it has posts pushed by the
worker (queues fanout_high / fanout_low) into followers' Redis home timelines. The test reads
those sorted sets directly with redis-py and the Fanout rows through the ORM (the test
database is the one Daphne and the worker use).
"""

import os
import time

import pytest
import redis
import requests
from django.conf import settings as django_settings

from feeds.models import Celebrity, Fanout
from feeds.store import author_key, home_key
from tests.conftest import require
from tests.e2e.conftest import ready_socket, receive, register_and_login, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]

REDIS_URL = os.environ.get("REDIS_URL", "")
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
THRESHOLD = 3
WAIT_SECONDS = 10


@pytest.fixture
def service_env(service_env):
    """The conftest's environment for Daphne and the worker, with a celebrity threshold of 3."""
    service_env["FEED_FANOUT_THRESHOLD"] = str(THRESHOLD)
    return service_env


@pytest.fixture
def timelines():
    """A redis-py client on the timeline store Daphne and the worker use (skips without services)."""
    require(bool(REDIS_URL), "REDIS_URL not set: timelines and the cross-process channel layer need Redis")
    require(bool(BROKER_URL), "CELERY_BROKER_URL not set: a real worker needs a broker")
    client = redis.Redis.from_url(django_settings.FEED_REDIS_URL, decode_responses=True)
    yield client
    client.close()


def api(method, daphne, account, path, **kwargs):
    return requests.request(method, f"{daphne.url}/api/v1/{path}", headers=account.auth, timeout=15, **kwargs)


def follow(daphne, follower, followed):
    response = api("POST", daphne, follower, f"users/{follower.id}/follows", json={"followed_user_id": followed.id})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "following"


def create_post(daphne, author, content):
    response = api("POST", daphne, author, "posts", json={"content_type": "text", "content": content})
    assert response.status_code == 201, response.text
    post = response.json()
    assert post["status"] == "published", post
    return post


def feed_ids(daphne, reader):
    response = api("GET", daphne, reader, "feed")
    assert response.status_code == 200, response.text
    return [post["id"] for post in response.json()["results"]]


def next_feed_event(ws, post_id, timeout=WAIT_SECONDS):
    """The `feed.new_post` frame for this post; other frames that arrive first are skipped."""
    deadline = time.monotonic() + timeout
    skipped = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = receive(ws, timeout=left)
        except TimeoutError:
            break
        if frame.get("event") == "feed.new_post" and frame["data"].get("post_id") == post_id:
            return frame
        skipped.append(frame)
    pytest.fail(f"no feed.new_post for {post_id} within {timeout} s; got {skipped}")


def home_members(timelines, user_id):
    return set(timelines.zrange(home_key(user_id), 0, -1))


def author_members(timelines, author_id):
    return set(timelines.zrange(author_key(author_id), 0, -1))


def fanout_of(post_id):
    return Fanout.objects.filter(post_id=post_id).first()


def fanout_done(post_id):
    fanout = fanout_of(post_id)
    return fanout is not None and fanout.status == Fanout.Status.DONE


def test_push_and_pull_fanout_reach_the_feed_redis_and_the_socket(request, timelines):
    worker = request.getfixturevalue("celery_worker")
    for queue in ("fanout_high", "fanout_low"):  # started without -Q, it consumes them all
        assert f".> {queue} " in worker.output(), worker.output()
    daphne = request.getfixturevalue("daphne")

    reader, author, celebrity = (register_and_login(daphne.url) for _ in range(3))
    fans = [register_and_login(daphne.url) for _ in range(THRESHOLD - 1)]
    follow(daphne, reader, author)
    for fan in (reader, *fans):
        follow(daphne, fan, celebrity)
    # The worker's follow_merge / tier_sync moves the celebrity across the threshold.
    assert wait_until(
        lambda: Celebrity.objects.filter(author_id=celebrity.id, state=Celebrity.State.CELEBRITY).exists()
    ), worker.output()
    assert not Celebrity.objects.filter(author_id=author.id).exists()

    # The first read builds the reader's home timeline from the database: nothing in it yet.
    assert feed_ids(daphne, reader) == []
    assert timelines.exists(home_key(reader.id))

    with ready_socket(daphne, reader) as reader_ws:
        # Push: the worker writes the post into the reader's Redis home timeline and tells the socket.
        post = create_post(daphne, author, "A post below the threshold #e2e")
        event = next_feed_event(reader_ws, post["id"])
        assert event["data"]["author_id"] == author.id
        assert event["data"]["created_at"]
        assert post["id"] in home_members(timelines, reader.id)
        assert feed_ids(daphne, reader)[0] == post["id"]
        assert wait_until(lambda: fanout_done(post["id"])), fanout_of(post["id"])
        fanout = fanout_of(post["id"])
        assert (fanout.mode, fanout.batches_done, fanout.batches_total) == (Fanout.Mode.PUSH, 1, 1)
        assert fanout.timelines == 1

        # Pull: the celebrity's post goes only into their author timeline; the reader still hears of it.
        loud = create_post(daphne, celebrity, "A post above the threshold #e2e")
        event = next_feed_event(reader_ws, loud["id"])
        assert event["data"]["author_id"] == celebrity.id
        assert wait_until(lambda: fanout_done(loud["id"])), fanout_of(loud["id"])
        fanout = fanout_of(loud["id"])
        assert (fanout.mode, fanout.batches_done, fanout.batches_total) == (Fanout.Mode.PULL, 1, 1)
        assert fanout.timelines == 0
        assert loud["id"] in author_members(timelines, celebrity.id)
        assert loud["id"] not in home_members(timelines, reader.id)
        for fan in fans:  # the fans never read their feed: no home timeline was built for them
            assert not timelines.exists(home_key(fan.id))

        ids = feed_ids(daphne, reader)
        assert ids == [loud["id"], post["id"]]  # newest first, no duplicates

    # The worker ran the fan-out tasks from the broker.
    output = worker.output()
    for task in ("feeds.tasks.fanout_post", "feeds.tasks.push_batch", "feeds.tasks.follow_merge"):
        assert f"Task {task}[" in output, output

    # Delete: gone from the feed at once (read-time filter), then from Redis (the withdraw task).
    response = api("DELETE", daphne, author, f"posts/{post['id']}")
    assert response.status_code == 204, response.text
    assert feed_ids(daphne, reader) == [loud["id"]]
    assert wait_until(lambda: post["id"] not in home_members(timelines, reader.id)), home_members(timelines, reader.id)
    assert wait_until(lambda: fanout_of(post["id"]) is None)  # a restore would fan it out again

    # Unfollow the celebrity: their post leaves the reader's feed at once.
    response = api("DELETE", daphne, reader, f"users/{reader.id}/follows/{celebrity.id}")
    assert response.status_code == 204, response.text
    assert loud["id"] not in feed_ids(daphne, reader)
    assert feed_ids(daphne, reader) == []
    # The pulled post was never in the reader's home timeline, and stays out of it.
    assert loud["id"] not in home_members(timelines, reader.id)

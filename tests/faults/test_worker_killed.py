"""A worker is SIGKILLed in the middle of a fan-out or of a video's processing: nothing is lost.

RabbitMQ hands the killed worker's unacknowledged task to the next worker as soon as its
connection drops. Redis keeps it invisible until the visibility timeout (an hour by default), so
the sweeper (socialsite.repair, every REPAIR_SECONDS from beat) finds the fan-out or the media
that stopped moving and queues what is left. Engines are the test's own (tests/faults/engines.py).
"""

import time
import uuid

import pytest
import requests
from django.utils import timezone

from accounts.models import Follow, Profile, User
from feeds.models import Fanout
from feeds.store import home_key
from media.models import Media
from posts.models import Post
from tests.e2e.conftest import register_and_login, wait_until
from tests.faults import engines

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(240)]

FOLLOWERS = 300
BATCH = 5  # 60 batches: the kill lands in the middle
RESTORED_WITHIN = 30  # seconds after the worker's restart


def api(method, daphne, account, path, **kwargs):
    return requests.request(method, f"{daphne.url}/api/v1/{path}", headers=account.auth, timeout=30, **kwargs)


@pytest.fixture(params=["redis", "rabbitmq", "rabbitmq-quorum"])
def broker(request, tmp_path, fault_engines):
    """The broker's settings: a second private Redis (not the timelines' one), or RabbitMQ with
    durable classic or quorum queues."""
    if request.param.startswith("rabbitmq"):
        queue_type = "quorum" if request.param.endswith("quorum") else "classic"
        url = request.getfixturevalue("private_rabbitmq").url()
        yield {"CELERY_BROKER_URL": url, "CELERY_RABBITMQ_QUEUE_TYPE": queue_type}
        return
    server = engines.RedisServer(tmp_path / "broker", name="redis-broker")
    fault_engines.append(server)
    server.start()
    yield {"CELERY_BROKER_URL": server.url(0)}
    server.close()


@pytest.fixture
def env(service_env, private_redis, broker):
    return {
        **service_env,
        **broker,
        "REDIS_URL": private_redis.url(0),
        "FEED_FANOUT_BATCH": str(BATCH),
        "FEED_FANOUT_STALL_SECONDS": "5",
        "MEDIA_PROCESSING_DEADLINE": "8",
        "OUTBOX_RELAY_SECONDS": "1",
        "REPAIR_SECONDS": "2",
    }


def followers_of(author_id, count):
    """Active followers, written straight to the database (no signals: nothing is queued here)."""
    now = timezone.now()
    users = User.objects.bulk_create(
        User(username=f"f{uuid.uuid4().hex[:12]}", email=f"{uuid.uuid4().hex[:12]}@example.com", last_active=now)
        for _ in range(count)
    )
    Profile.objects.bulk_create(Profile(user=user) for user in users)
    Follow.objects.bulk_create(Follow(follower=user, followed_id=author_id) for user in users)
    Profile.objects.filter(user_id=author_id).update(followers_count=count)
    return [str(user.pk) for user in users]


def test_a_worker_killed_mid_fanout_loses_no_timeline(env, private_redis, start_daphne, start_worker, start_beat):
    daphne = start_daphne(**env)
    worker = start_worker(env)
    start_beat(env)
    author = register_and_login(daphne.url)
    fans = followers_of(author.id, FOLLOWERS)
    timelines = private_redis.client(decode_responses=True)
    seed = timelines.pipeline(transaction=False)
    for fan in fans:  # fan-out writes into timelines that exist (as if each had read the feed)
        seed.zadd(home_key(fan), {"seed": 0})
    seed.execute()

    response = api("POST", daphne, author, "posts", json={"content_type": "text", "content": "to all 300"})
    assert response.status_code == 201, response.text
    post_id = response.json()["id"]
    assert wait_until(lambda: Fanout.objects.filter(post_id=post_id, batches_done__gte=3).exists(), 30)
    # Freeze the timelines' writes so the worker is caught inside a batch, then kill it.
    timelines.execute_command("CLIENT", "PAUSE", 3000, "WRITE")
    time.sleep(0.5)
    worker.kill()
    fanout = Fanout.objects.get(post_id=post_id)
    assert fanout.status == "running" and fanout.batches_done < fanout.batches_total, fanout
    done_at_kill = fanout.batches_done
    timelines.execute_command("CLIENT", "UNPAUSE")

    def missing():
        pipe = timelines.pipeline(transaction=False)
        for fan in fans:
            pipe.zscore(home_key(fan), post_id)
        return sum(score is None for score in pipe.execute())

    killed_with = missing()
    worker.start()
    restarted = time.monotonic()
    assert wait_until(lambda: missing() == 0, RESTORED_WITHIN), f"{missing()} of {FOLLOWERS} timelines lack the post"
    took = time.monotonic() - restarted
    assert wait_until(lambda: Fanout.objects.filter(post_id=post_id, status="done").exists(), 10)
    fanout.refresh_from_db()
    assert fanout.batches_done == fanout.batches_total
    print(
        f"\nworker killed with {done_at_kill}/{fanout.batches_total} batches done ({killed_with} timelines left); "
        f"all {FOLLOWERS} had the post {took:.1f} s after the restart"
    )


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"], indirect=True)
def test_a_worker_killed_mid_video_leaves_no_post_pending(env, clip, start_daphne, start_worker, start_beat):
    daphne = start_daphne(**env)
    worker = start_worker(env)
    start_beat(env)
    author = register_and_login(daphne.url)
    video = clip(seconds=6, size="1280x720")
    upload = requests.post(
        f"{daphne.url}/api/v1/media", headers=author.auth, files={"file": ("clip.mp4", video)}, timeout=60
    )
    assert upload.status_code in (201, 202), upload.text
    media_id = upload.json()["id"]
    response = api("POST", daphne, author, "posts", json={"content_type": "video", "media_ids": [media_id]})
    assert response.status_code == 201, response.text
    post_id = response.json()["id"]
    # The worker has started on it (ffmpeg is running): kill the worker and its ffmpeg.
    assert wait_until(lambda: Media.objects.filter(pk=media_id, attempts__gte=1).exists(), 30)
    time.sleep(0.3)
    worker.kill()
    assert Media.objects.get(pk=media_id).status == Media.Status.PROCESSING
    assert Post.objects.get(pk=post_id).status == Post.Status.PENDING_MEDIA

    worker.start()
    restarted = time.monotonic()
    deadline = int(env["MEDIA_PROCESSING_DEADLINE"]) + 30  # the sweep, then the processing itself
    assert wait_until(lambda: Post.objects.get(pk=post_id).status != Post.Status.PENDING_MEDIA, deadline), (
        Media.objects.get(pk=media_id)
    )
    post = Post.objects.get(pk=post_id)
    media = Media.objects.get(pk=media_id)
    assert post.status == Post.Status.PUBLISHED, (post.status, media.error)
    assert media.status == Media.Status.READY and media.attempts >= 2
    print(f"\nvideo worker killed mid-run; post published {time.monotonic() - restarted:.1f} s after the restart")

"""The broker dies while people post, like and message: every request still answers 2xx, and once
the broker is back every side effect happens (the outbox relays what the broker refused).

Real processes on engines of the test's own, scaled out as in production: two Daphnes (requests
alternate between them), two Celery workers and beat, on a private
Redis (append-only, so a restart keeps what it acknowledged) or a private RabbitMQ node, killed
with SIGKILL mid-traffic and restarted on the same port. Counts what was sent against what
arrived: posts in every follower's Redis timeline, like and message notifications.
"""

import pytest
import redis
import requests

from feeds.models import Fanout
from feeds.store import home_key
from notifications.models import Notification
from socialsite.models import OutboxMessage
from tests.e2e.conftest import register_and_login, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(240)]

FANS = 12
POSTS = 5
MESSAGES = 2  # per fan
RECOVERY_SECONDS = 60


def api(method, daphne, account, path, **kwargs):
    return requests.request(method, f"{daphne.url}/api/v1/{path}", headers=account.auth, timeout=30, **kwargs)


def created(response):
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request, private_redis):
    """(the broker to kill, its URL); with RabbitMQ, the cache and channel layer stay on private_redis."""
    if request.param == "redis":
        return private_redis, private_redis.url(1)
    node = request.getfixturevalue("private_rabbitmq")
    return node, node.url()


def test_nothing_is_lost_while_the_broker_is_down(
    broker, private_redis, service_env, start_daphne, start_worker, start_beat
):
    engine, broker_url = broker
    env = {
        **service_env,
        "REDIS_URL": private_redis.url(0),
        "CELERY_BROKER_URL": broker_url,
        "OUTBOX_RELAY_SECONDS": "1",
        "REPAIR_SECONDS": "2",
        "NOTIFICATION_MESSAGE_SECONDS": "0",  # every message notifies: each one can be counted
        "THROTTLE_MESSAGE": "10000/1m",
    }
    daphnes = [start_daphne(**env), start_daphne(**env)]
    daphne = daphnes[0]
    start_worker(env)
    start_worker(env)
    start_beat(env)

    author = register_and_login(daphne.url)
    fans = [register_and_login(daphne.url) for _ in range(FANS)]
    for fan in fans:
        created(api("POST", daphne, fan, f"users/{fan.id}/follows", json={"followed_user_id": author.id}))
        assert api("GET", daphne, fan, "feed").status_code == 200  # builds their home timelines
    liked = created(api("POST", daphne, author, "posts", json={"content_type": "text", "content": "like me"}))
    assert wait_until(lambda: Fanout.objects.filter(post_id=liked["id"], status="done").exists(), 30)

    engine.kill()
    statuses, posts = [], []
    for number in range(POSTS):
        body = {"content_type": "text", "content": f"outage {number}"}
        response = api("POST", daphnes[number % 2], author, "posts", json=body)
        statuses.append(response.status_code)
        if response.status_code == 201:
            posts.append(response.json()["id"])
    for number, fan in enumerate(fans):
        statuses.append(api("POST", daphnes[number % 2], fan, f"posts/{liked['id']}/likes").status_code)
        for message in range(MESSAGES):
            body = {"receiver_id": author.id, "content": f"still there? {message}"}
            statuses.append(api("POST", daphnes[(number + message) % 2], fan, "messages", json=body).status_code)
    waiting = OutboxMessage.objects.count()
    assert all(200 <= status < 300 for status in statuses), statuses
    assert len(posts) == POSTS
    assert waiting >= POSTS, "the broker was down: the side effects wait in the outbox"

    engine.restart()

    timelines = redis.Redis.from_url(private_redis.url(0), decode_responses=True)

    def missing_deliveries():
        return sum(timelines.zscore(home_key(fan.id), post_id) is None for fan in fans for post_id in posts)

    def notifications(kind):
        return Notification.objects.filter(recipient_id=author.id, type=kind).count()

    assert wait_until(lambda: missing_deliveries() == 0, RECOVERY_SECONDS), (
        f"{missing_deliveries()} of {FANS * POSTS} timeline deliveries missing"
    )
    assert wait_until(lambda: notifications("like") == FANS, RECOVERY_SECONDS), notifications("like")
    assert wait_until(lambda: notifications("message") == FANS * MESSAGES, RECOVERY_SECONDS), notifications("message")
    assert wait_until(lambda: not OutboxMessage.objects.exists(), RECOVERY_SECONDS), OutboxMessage.objects.count()
    for fan in fans:  # and the feeds people read show it
        ids = [post["id"] for post in api("GET", daphne, fan, "feed").json()["results"]]
        assert set(posts) <= set(ids)
    print(
        f"\nbroker {type(engine).__name__} down: {len(statuses)} writes, all 2xx; {waiting} outbox rows waited; "
        f"after the restart {FANS * POSTS}/{FANS * POSTS} timeline deliveries, {FANS}/{FANS} like and "
        f"{FANS * MESSAGES}/{FANS * MESSAGES} message notifications"
    )

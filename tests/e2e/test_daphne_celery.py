"""End to end: real Daphne and Celery worker processes, driven over HTTP and WebSocket.

Runs in the embedded default (SQLite file shared with Daphne, in-memory channel layer
inside the one Daphne) and against real services (Postgres, Redis channel layer, Redis
broker). What needs a service across processes uses require(): skipped on a laptop,
a failure under CI=true.
"""

import os
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from websockets.exceptions import ConnectionClosed, InvalidStatus

from accounts.models import Follow
from tests.conftest import image_bytes, require
from tests.e2e.conftest import open_socket, ready_socket, receive, receive_event, register_and_login, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

REDIS_URL = os.environ.get("REDIS_URL", "")
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
# A follow's notification is made by a task: in the embedded mode it runs in-process after commit
# and its notification.new can come before follow.new; with a broker and no worker it never comes.
FOLLOW_NOTIFICATION = ("notification.new",)


def follow(daphne, follower, followed):
    return requests.post(
        f"{daphne.url}/api/v1/users/{follower.id}/follows",
        json={"followed_user_id": followed.id},
        headers=follower.auth,
        timeout=15,
    )


def test_follow_over_http_reaches_the_followed_users_socket(daphne):
    """One Daphne serves both the follow and the socket (in embedded mode: in-memory layer)."""
    alice, bob = register_and_login(daphne.url), register_and_login(daphne.url)
    with ready_socket(daphne, bob) as bob_ws, ready_socket(daphne, alice) as alice_ws:
        bob_ws.send('{"action": "ping", "data": {"ts": 1}, "ref": "r1"}')
        assert receive(bob_ws) == {"event": "pong", "data": {"ts": 1}, "ref": "r1"}

        response = follow(daphne, alice, bob)
        assert response.status_code == 201, response.text
        assert response.json() == {"followed_user_id": bob.id, "status": "following"}

        event = receive_event(bob_ws, "follow.new", skip=FOLLOW_NOTIFICATION)
        assert event["data"]["user"]["id"] == alice.id
        assert event["data"]["user"]["username"] == alice.username
        # The follower's own socket is not told.
        with pytest.raises(TimeoutError):
            alice_ws.recv(timeout=0.5)
    # Daphne wrote to the database this test process uses.
    assert Follow.objects.filter(follower_id=alice.id, followed_id=bob.id).exists()


def test_follow_served_by_one_daphne_reaches_a_socket_on_another(start_daphne):
    """Two Daphne processes: the event crosses between them through the Redis channel layer."""
    require(bool(REDIS_URL), "REDIS_URL not set: cross-process channel layer needs Redis")
    socket_server, api_server = start_daphne(), start_daphne()
    alice, bob = register_and_login(api_server.url), register_and_login(api_server.url)
    with ready_socket(socket_server, bob) as bob_ws:
        response = follow(api_server, alice, bob)
        assert response.status_code == 201, response.text
        event = receive_event(bob_ws, "follow.new", skip=FOLLOW_NOTIFICATION)
        assert event["data"]["user"]["id"] == alice.id


def test_socket_auth_over_real_http(daphne):
    bob = register_and_login(daphne.url)

    with open_socket(daphne) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    assert closed.value.rcvd.code == 4401

    with (
        open_socket(daphne, additional_headers={"Authorization": "Bearer garbage"}) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=10)
    assert closed.value.rcvd.code == 4401

    with pytest.raises(InvalidStatus) as refused:
        open_socket(daphne, bob, origin="https://evil.example")
    assert refused.value.response.status_code == 403

    with open_socket(daphne, query=f"?access_token={bob.access_token}") as ws:
        assert receive(ws) == {"event": "session.ready", "data": {"user_id": bob.id}}


def test_idle_socket_stays_up(daphne):
    alice, bob = register_and_login(daphne.url), register_and_login(daphne.url)
    with ready_socket(daphne, bob) as bob_ws:
        time.sleep(6.5)  # longer than channels_redis's 5 s blocking receive
        bob_ws.send('{"action": "ping", "data": {"ts": 2}}')
        assert receive(bob_ws) == {"event": "pong", "data": {"ts": 2}}
        assert follow(daphne, alice, bob).status_code == 201
        receive_event(bob_ws, "follow.new", skip=FOLLOW_NOTIFICATION)


def test_readyz_over_http_reports_every_check_ok(daphne):
    response = requests.get(f"{daphne.url}/readyz", timeout=15)
    assert response.status_code == 200, response.text
    # With CELERY_BROKER_URL set this is a real connection to the broker; without, it is skipped as ok.
    body = response.json()
    assert (body["status"], body["checks"]) == ("ok", {"database": "ok", "cache": "ok", "broker": "ok"})
    assert set(body["outbox"]) == {"count", "oldest_seconds"}


def test_readyz_over_http_names_an_unreachable_cache_and_broker(start_daphne):
    daphne = start_daphne(REDIS_URL=UNREACHABLE_REDIS, CELERY_BROKER_URL=UNREACHABLE_REDIS)
    response = requests.get(f"{daphne.url}/readyz", timeout=30)
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"].startswith("error: ")
    assert body["checks"]["broker"].startswith("error: ")


def test_readyz_over_http_stays_ready_while_the_broker_is_unreachable(start_daphne):
    """Writes go on during a broker outage (the outbox keeps their tasks), so the process stays in rotation."""
    daphne = start_daphne(CELERY_BROKER_URL=UNREACHABLE_REDIS)
    response = requests.get(f"{daphne.url}/readyz", timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert (body["checks"]["database"], body["checks"]["cache"]) == ("ok", "ok")
    assert body["checks"]["broker"].startswith("error: ")


def media_files(root):
    return sorted(path for path in Path(root).rglob("*") if path.is_file())


def test_worker_deletes_replaced_and_erased_avatars_through_the_broker(request, service_env):
    require(bool(BROKER_URL), "CELERY_BROKER_URL not set: a real worker needs a broker")
    worker = request.getfixturevalue("celery_worker")
    for queue in django_settings.CELERY_TASK_QUEUES:  # started without -Q, it consumes them all
        assert f".> {queue.name} " in worker.output(), worker.output()
    daphne = request.getfixturevalue("daphne")
    media_root = service_env["MEDIA_ROOT"]
    carol = register_and_login(daphne.url)
    avatar_url = f"{daphne.url}/api/v1/users/{carol.id}/avatar"

    def upload(color):
        png = image_bytes(color=color)
        response = requests.put(
            avatar_url, files={"avatar": ("me.png", png, "image/png")}, headers=carol.auth, timeout=15
        )
        assert response.status_code == 200, response.text
        return response.json()

    upload((10, 200, 30))
    first = media_files(media_root)
    assert len(first) == 2, first  # the avatar and its small copy (AVATAR_SMALL_SIZE)
    upload((200, 10, 30))
    # The replaced files go through the broker to the worker, which deletes them.
    assert wait_until(lambda: not set(first) & set(media_files(media_root))), media_files(media_root)
    second = media_files(media_root)
    assert len(second) == 2, second

    response = requests.delete(f"{daphne.url}/api/v1/users/{carol.id}", headers=carol.auth, timeout=15)
    assert response.status_code == 204, response.text
    assert wait_until(lambda: not media_files(media_root)), media_files(media_root)
    # One task per stored file: two replaced, two erased.
    assert wait_until(lambda: worker.output().count("accounts.tasks.delete_stored_file") >= 4)
    assert "succeeded" in worker.output()
    assert not any(path.exists() for path in second)

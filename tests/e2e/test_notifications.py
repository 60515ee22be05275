"""Notifications end to end: real Daphne and a real Celery worker, driven over HTTP as clients
would. Every type is made by its real action; the socket, SSE and long-poll all deliver it."""

import json
import threading
import time

import pytest
import requests

from tests.e2e.conftest import ready_socket, receive, register_and_login, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(150)]


def call(daphne, account, method, path, **kwargs):
    response = requests.request(method, f"{daphne.url}/api/v1{path}", headers=account.auth, timeout=15, **kwargs)
    assert response.status_code < 400, (method, path, response.status_code, response.text)
    return response.json() if response.content else None


def notifications(daphne, account, query=""):
    return call(daphne, account, "GET", f"/users/me/notifications?limit=50{query}")["results"]


def types_of(daphne, account):
    return sorted(row["type"] for row in notifications(daphne, account))


def next_notification(ws):
    while True:
        frame = receive(ws, timeout=15)
        if frame["event"].startswith("notification."):
            return frame


def test_every_type_comes_from_its_action_through_the_worker(daphne, celery_worker):
    ana, bo, cy = (register_and_login(daphne.url) for _ in range(3))
    with ready_socket(daphne, ana) as ana_ws:
        call(daphne, bo, "POST", "/users/me/follows", json={"followed_user_id": ana.id})
        frame = next_notification(ana_ws)  # live on ana's socket, from the worker
        assert frame["event"] == "notification.new" and frame["data"]["type"] == "follow"
        assert frame["data"]["actor"]["username"] == bo.username

    post = call(daphne, ana, "POST", "/posts", json={"content_type": "text", "content": f"hi @{cy.username}"})
    call(daphne, bo, "POST", f"/posts/{post['id']}/likes")
    comment = call(daphne, bo, "POST", f"/posts/{post['id']}/comments", json={"content": f"yo @{cy.username}"})
    call(
        daphne, cy, "POST", f"/posts/{post['id']}/comments", json={"content": "re", "parent_comment_id": comment["id"]}
    )
    call(daphne, cy, "POST", f"/posts/{post['id']}/shares", json={})
    call(daphne, bo, "POST", "/messages", json={"receiver_id": ana.id, "content": "hello"})
    # The bell: cy follows ana with the bell on and hears of her next post.
    call(daphne, cy, "POST", "/users/me/follows", json={"followed_user_id": ana.id})
    call(daphne, cy, "PUT", f"/users/me/bells/{ana.id}")
    call(daphne, ana, "POST", "/posts", json={"content_type": "text", "content": "second"})
    # A private account: a request, then its approval.
    call(daphne, bo, "PATCH", "/users/me", json={"is_private": True})
    call(daphne, cy, "POST", "/users/me/follows", json={"followed_user_id": bo.id})
    assert wait_until(lambda: types_of(daphne, bo) == ["follow_request", "reply"], timeout=20), types_of(daphne, bo)
    [request] = call(daphne, bo, "GET", "/users/me/follow-requests")["results"]
    call(daphne, bo, "POST", f"/users/me/follow-requests/{request['id']}/approve")

    ana_types = ["comment", "comment", "follow", "follow", "like", "message", "share"]
    assert wait_until(lambda: types_of(daphne, ana) == ana_types, timeout=20), types_of(daphne, ana)
    cy_types = ["follow_accepted", "mention", "mention", "new_post"]
    assert wait_until(lambda: types_of(daphne, cy) == cy_types, timeout=20), types_of(daphne, cy)
    assert wait_until(lambda: types_of(daphne, bo) == ["reply"], timeout=20), types_of(daphne, bo)  # request handled

    # Unlike takes the like back; the grouped view shows ana's two comments as one line.
    call(daphne, bo, "DELETE", f"/posts/{post['id']}/likes/me")
    assert wait_until(lambda: "like" not in types_of(daphne, ana), timeout=20)
    groups = call(daphne, ana, "GET", "/users/me/notifications/groups")["results"]
    [comments] = [group for group in groups if group["type"] == "comment"]
    assert comments["count"] == 2 and comments["text"].endswith("commented on your post")


def read_event(lines):
    """The next SSE event as {"id", "event", "data"}; comments (": ping") come back as {"comment"}."""
    event = {}
    for line in lines:
        if line == "":
            if event:
                return event
            continue
        if line.startswith(":"):
            return {"comment": line[1:].strip()}
        name, _, value = line.partition(": ")
        event[name] = json.loads(value) if name == "data" else value
    raise AssertionError("stream ended")


def test_sse_streams_new_notifications_with_heartbeats_and_resumes(start_daphne, celery_worker):
    daphne = start_daphne(NOTIFICATION_SSE_HEARTBEAT="1")
    ana, bo, cy = (register_and_login(daphne.url) for _ in range(3))
    url = f"{daphne.url}/api/v1/notifications/stream"

    refused = requests.get(url, timeout=10)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "not_authenticated"

    with requests.get(url, headers=ana.auth, stream=True, timeout=20) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        lines = response.iter_lines(decode_unicode=True)
        assert read_event(lines) == {"retry": "3000"}  # listening from here on
        call(daphne, bo, "POST", "/users/me/follows", json={"followed_user_id": ana.id})
        event = read_event(lines)
        while "comment" in event:
            event = read_event(lines)
        assert event["event"] == "notification.new" and event["data"]["type"] == "follow"
        assert event["id"] == event["data"]["id"]
        first_id = event["id"]
        assert read_event(lines) == {"comment": "ping"}  # a heartbeat while nothing happens

    # Gone for a while; cy follows meanwhile. Resuming from the last id gets it at once.
    call(daphne, cy, "POST", "/users/me/follows", json={"followed_user_id": ana.id})
    assert wait_until(lambda: len(notifications(daphne, ana)) == 2, timeout=20)
    with requests.get(url, headers={**ana.auth, "Last-Event-ID": first_id}, stream=True, timeout=20) as response:
        lines = response.iter_lines(decode_unicode=True)
        assert read_event(lines) == {"retry": "3000"}
        event = read_event(lines)
        assert event["event"] == "notification.new" and event["data"]["actor"]["username"] == cy.username

    bad = requests.get(url, headers={**ana.auth, "Last-Event-ID": "junk"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"


def test_long_poll_waits_for_something_new(daphne, celery_worker):
    ana, bo = register_and_login(daphne.url), register_and_login(daphne.url)
    url = f"{daphne.url}/api/v1/notifications/poll"

    assert requests.get(url, timeout=10).status_code == 401
    by_query = requests.get(f"{url}?timeout=0&access_token={ana.access_token}", timeout=10)
    assert by_query.status_code == 200 and by_query.json() == {"results": [], "since": None}
    for query in ("timeout=99", "timeout=x", "since=nope"):
        response = requests.get(f"{url}?{query}", headers=ana.auth, timeout=10)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid", query

    started = time.monotonic()
    empty = requests.get(f"{url}?timeout=1", headers=ana.auth, timeout=10).json()
    assert empty == {"results": [], "since": None} and time.monotonic() - started >= 1

    answer = {}

    def wait():
        answer["body"] = requests.get(f"{url}?timeout=20", headers=ana.auth, timeout=30).json()
        answer["at"] = time.monotonic()

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(1)  # the poll is waiting
    followed_at = time.monotonic()
    call(daphne, bo, "POST", "/users/me/follows", json={"followed_user_id": ana.id})
    waiter.join(30)
    [row] = answer["body"]["results"]
    assert row["type"] == "follow" and answer["body"]["since"] == row["id"]
    assert answer["at"] - followed_at < 15  # woken by the notification, not by the 20 s timeout

    # Polling from that id: nothing newer, so it waits out its timeout; from before it, at once.
    assert requests.get(f"{url}?since={row['id']}&timeout=1", headers=ana.auth, timeout=10).json()["results"] == []

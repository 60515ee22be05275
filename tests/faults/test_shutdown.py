"""SIGTERM to a web process (issue 15, item 5): nothing in flight is cut off, and it exits in time.

A real Daphne, started as production starts it (`python -m socialsite.serve`, the e2e
start_daphne fixture), holds a WebSocket, an SSE stream, a long-poll and a POST whose body is
still arriving when it gets SIGTERM. It must stop accepting connections, close the socket with
1001, answer the long-poll and end the stream with a retry hint, finish the POST, and exit within
10 s; and exit within 10 s, too, when a request is stuck on a database lock.
"""

import http.client
import json
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import transaction
from websockets.exceptions import ConnectionClosed

from accounts.models import Profile
from posts.models import Post
from tests.e2e import conftest as e2e
from tests.e2e.conftest import ready_socket, register_and_login

pytestmark = pytest.mark.e2e

# The e2e fixtures, so this test starts Daphne exactly as the e2e tests (and production) do.
spawn = e2e.spawn
start_daphne = e2e.start_daphne

EXIT_WITHIN = 10  # seconds from SIGTERM to exit (issue 15)


def terminate(daphne):
    """SIGTERM now; a function returning the seconds until the process exited (None: still running)."""
    signalled = time.monotonic()
    daphne.process.popen.send_signal(signal.SIGTERM)

    def exited_after():
        try:
            daphne.process.popen.wait(EXIT_WITHIN + 5)
        except subprocess.TimeoutExpired:
            return None
        return time.monotonic() - signalled

    return exited_after


def outcome(call):
    """call()'s result, or the exception it raised (so every check below still runs and reports)."""
    try:
        return call()
    except Exception as exc:
        return exc


def close_code(ws):
    try:
        frame = ws.recv(timeout=5)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else "no close frame"
    return f"a frame instead: {frame}"


def test_sigterm_finishes_what_is_in_flight_and_sends_listeners_away(start_daphne):
    daphne = start_daphne()
    account = register_and_login(daphne.url)
    ws = ready_socket(daphne, account)
    pool = ThreadPoolExecutor(2)

    # Long-poll on a connection Daphne has already accepted (it stops accepting at SIGTERM).
    poll_session = requests.Session()
    assert poll_session.get(f"{daphne.url}/healthz", timeout=5).ok
    poll = pool.submit(poll_session.get, f"{daphne.url}/api/v1/notifications/poll", headers=account.auth, timeout=30)

    stream = requests.get(f"{daphne.url}/api/v1/notifications/stream", headers=account.auth, stream=True, timeout=30)
    chunks = stream.iter_content(chunk_size=None)
    assert next(chunks) == b"retry: 3000\n\n"  # listening
    stream_rest = pool.submit(lambda: b"".join(chunks).decode())

    # An ordinary request in flight: a POST whose body is only half sent (a slow upload).
    upload = http.client.HTTPConnection("127.0.0.1", daphne.port, timeout=30)
    upload.request("GET", "/healthz")
    assert upload.getresponse().read()  # the connection is accepted before SIGTERM
    body = json.dumps({"content_type": "text", "content": "posted while the server shuts down"}).encode()
    upload.putrequest("POST", "/api/v1/posts")
    for name, value in {**account.auth, "Content-Type": "application/json", "Content-Length": len(body)}.items():
        upload.putheader(name, value)
    upload.endheaders(body[:20])
    time.sleep(0.5)  # Daphne reads the request line and the long-poll reaches its wait

    exited_after = terminate(daphne)
    code = close_code(ws)  # once it arrives, the server is shutting down
    new_connection = outcome(lambda: requests.get(f"{daphne.url}/healthz", timeout=2))
    upload.send(body[20:])
    posted = outcome(upload.getresponse)
    polled = outcome(lambda: poll.result(timeout=10))
    rest = outcome(lambda: stream_rest.result(timeout=10))
    seconds = exited_after()
    pool.shutdown(cancel_futures=True)
    print(f"exited {seconds} s after SIGTERM")

    log = daphne.process.output()[-5000:]
    assert code == 1001, f"WebSocket close code {code}\n{log}"
    assert isinstance(new_connection, requests.ConnectionError), f"a new connection got {new_connection!r}"
    assert isinstance(posted, http.client.HTTPResponse) and posted.status == 201, f"{posted!r}\n{log}"
    post_id = json.loads(posted.read())["id"]
    assert isinstance(polled, requests.Response), f"long-poll: {polled!r}\n{log}"
    assert polled.status_code == 200 and polled.json()["results"] == [], polled.text
    assert 1 <= int(polled.headers.get("Retry-After", 0)) <= 60, polled.headers
    assert isinstance(rest, str), f"SSE stream: {rest!r}\n{log}"
    assert re.search(r"(^|\n)retry: [1-9]\d*\n\n\Z", rest), f"SSE stream ended with {rest!r}"
    assert seconds is not None and seconds < EXIT_WITHIN, f"exited after {seconds} s\n{log}"
    assert daphne.process.popen.returncode == 0, log
    assert Post.objects.filter(pk=post_id, author_id=account.id).exists()


def test_sigterm_exits_in_time_when_a_request_is_stuck(start_daphne):
    daphne = start_daphne()
    account = register_and_login(daphne.url)
    pool = ThreadPoolExecutor(1)
    with transaction.atomic():
        # The profile update below waits on this row lock (SQLite: the whole file's write lock),
        # on one of Daphne's threads, for longer than the test lasts.
        Profile.objects.select_for_update().get(user_id=account.id)
        stuck = pool.submit(
            requests.patch, f"{daphne.url}/api/v1/users/me", json={"bio": "stuck"}, headers=account.auth, timeout=30
        )
        time.sleep(1)
        assert not stuck.done(), stuck.result()
        exited_after = terminate(daphne)
        seconds = exited_after()
    pool.shutdown(cancel_futures=True)
    print(f"exited {seconds} s after SIGTERM, code {daphne.process.popen.returncode}")
    assert seconds is not None and seconds < EXIT_WITHIN, f"exited after {seconds} s\n{daphne.process.output()[-5000:]}"

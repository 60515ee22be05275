"""A chat page that misses a live event fetches what it missed at once (docs/realtime.md "Gaps and
resync"), in Chromium against a real Daphne.

Playwright sits between the page and its socket (page.route_web_socket) and drops chosen
`message.new` frames, as a full server queue would. Then: the next message's seq shows the hole
and chat.js fetches `?after=` right away; and a dropped last message, which no later seq reveals,
arrives when the server says `session.resync`.
"""

import json
import re
import time

import pytest
import requests

from accounts import tokens
from messaging import services
from tests.browser.test_chat import EVENT_WAIT_MS, Person
from tests.e2e.conftest import service_env, spawn, start_daphne  # noqa: F401  (fixtures)
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


@pytest.fixture
def server(service_env, start_daphne):  # noqa: F811
    service_env["THROTTLE_MESSAGE"] = "10000/1m"  # the Redis cache outlives runs
    return start_daphne()


class DroppingSocket:
    """Routes a page's /ws/ through Playwright; drops the message.new frames whose seq is in `drop`."""

    def __init__(self, page):
        self.page = page
        self.drop = set()
        self.dropped = []
        self.route = None
        page.route_web_socket(re.compile(r"/ws/"), self.connect)

    def connect(self, route):
        self.route = route
        server = route.connect_to_server()  # frames from the page go through unchanged
        server.on_message(lambda message: self.from_server(route, message))

    def from_server(self, route, message):
        frame = json.loads(message)
        if frame.get("event") == "message.new" and frame["data"].get("seq") in self.drop:
            self.dropped.append(frame["data"]["seq"])
            return
        route.send(message)

    def wait_dropped(self, seq):
        deadline = time.monotonic() + EVENT_WAIT_MS / 1000
        while seq not in self.dropped:
            assert time.monotonic() < deadline, f"message.new {seq} never came to be dropped"
            self.page.wait_for_timeout(50)  # not time.sleep: Playwright runs the route's callbacks meanwhile


def test_a_missed_message_is_fetched_as_soon_as_a_gap_shows(browser, server):
    from playwright.sync_api import expect

    ana, bo_user = UserFactory(username="ana"), UserFactory(username="bo")
    conversation = str(services.message_send(sender=ana, receiver_id=bo_user.pk, content="one")[0].conversation_id)
    token = tokens.access_token(ana)

    def ana_sends(content):
        response = requests.post(
            f"{server.url}/api/v1/messages",
            json={"conversation_id": conversation, "content": content},
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )
        assert response.status_code == 201, response.text

    bo = Person(browser, server, "bo")
    socket = DroppingSocket(bo.page)
    resyncs = []
    bo.page.on("request", lambda request: "after=" in request.url and resyncs.append(request.url))
    bo.open(f"/messages/{conversation}/")
    expect(bo.bubbles()).to_have_count(1)
    expect(bo.bubbles().first).to_contain_text("one")
    resyncs.clear()  # the first open's catch-up

    # Message 2's event is lost on the way: nothing shows, nothing says so.
    socket.drop = {2}
    ana_sends("two")
    socket.wait_dropped(2)
    expect(bo.bubbles()).to_have_count(1)

    # Message 3 arrives with seq 3: the page holds 1, so it fetches after=1 at once.
    ana_sends("three")
    expect(bo.bubbles()).to_have_count(3, timeout=EVENT_WAIT_MS)
    assert any("after=1" in url for url in resyncs), resyncs
    seqs = bo.page.eval_on_selector_all("[data-chat-log] > li.chat-message", "els => els.map(e => +e.dataset.seq)")
    assert seqs == [1, 2, 3]
    expect(bo.bubbles().nth(1)).to_contain_text("two")

    # The last message's event is lost, and no later seq shows it: the server's session.resync does.
    socket.drop = {4}
    ana_sends("four")
    socket.wait_dropped(4)
    expect(bo.bubbles()).to_have_count(3)
    socket.route.send(json.dumps({"event": "session.resync", "data": {"reason": "overflow"}}))
    expect(bo.bubbles()).to_have_count(4, timeout=EVENT_WAIT_MS)
    expect(bo.bubbles().last).to_contain_text("four")
    assert any("after=3" in url for url in resyncs), resyncs

    bo.shot("chat-gap-fetched.png")
    assert bo.same_document()
    assert bo.problems == []

"""Notifications live in Chromium against a real Daphne: a friend follows you, likes your post,
comments on it and messages you; the header bell on your page counts up without a reload, and
/notifications/ shows the grouped lines. A conversation open on screen makes no `message`
notification (chat.js says `conversation.view`); once the tab is hidden it does again.

Sockets need an ASGI server, so, like tests/browser/test_chat.py, this drives a Daphne process
on the test database. Every write goes through the friend's pages in that process, so the events
reach your page whether the channel layer is in memory or Redis. Each person has their own
browser context (their own cookies), as two people on two machines would.
"""

import contextlib
import json
import os
import re

import pytest

from messaging.services import message_send
from notifications.models import Notification
from posts.services import post_create
from tests.browser.conftest import SCREENSHOTS, sign_in
from tests.conftest import wait_for_js
from tests.e2e.conftest import celery_worker, service_env, spawn, start_daphne, wait_until  # noqa: F401
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

EVENT_WAIT_MS = 20000  # an upper bound for an event to arrive, not a measurement


@pytest.fixture
def server(request, service_env, start_daphne):  # noqa: F811
    service_env["THROTTLE_MESSAGE"] = "10000/1m"  # the Redis cache outlives runs
    if os.environ.get("CELERY_BROKER_URL"):  # tasks go to the broker: a real worker makes the notifications
        request.getfixturevalue("celery_worker")
    return start_daphne(NOTIFICATION_MESSAGE_SECONDS="0")  # each message notifies: the test sends a few


class Person:
    """One signed-in person in their own browser context, with the page's CSP complaints, script
    errors and the socket frames it sent."""

    def __init__(self, browser, server, username):
        self.username = username
        self.context = browser.new_context(viewport={"width": 1100, "height": 900})
        self.page = self.context.new_page()
        self.problems = []
        self.sent = []  # socket frames the page sent, parsed
        self.sockets = 0  # sockets the page opened: more than one a page is a reconnect
        self.page.on("console", lambda msg: "Content Security Policy" in msg.text and self.problems.append(msg.text))
        self.page.on("pageerror", lambda exc: self.problems.append(str(exc)))
        self.page.on("websocket", self._watch)
        self.server = server
        sign_in(self.page, server.url, username)

    def _watch(self, ws):
        self.sockets += 1

        def sent(payload):
            with contextlib.suppress(TypeError, ValueError):
                self.sent.append(json.loads(payload))

        ws.on("framesent", sent)

    def views(self):
        """The conversation ids this page said it looks at (None: none), in order."""
        return [frame["data"]["conversation_id"] for frame in self.sent if frame.get("action") == "conversation.view"]

    def open(self, path):
        self.page.goto(f"{self.server.url}{path}")
        self.wait_connected()
        self.page.evaluate("window.__sameDocument = true")

    def wait_connected(self):
        wait_for_js(self.page, "window.realtime && window.realtime.connected", timeout_ms=EVENT_WAIT_MS)

    def same_document(self):
        return self.page.evaluate("window.__sameDocument === true")

    def settle(self):
        """A ping's reply: the server has handled every frame this socket sent before it."""
        self.page.evaluate("() => window.realtime.request('ping', {})")

    def bell(self):
        return self.page.locator("[data-notifications-bell]")

    def badge(self):
        return self.page.locator("[data-notifications-unread]")

    def shot(self, name):
        self.page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def message_notifications(user):
    return Notification.objects.filter(recipient=user, type="message").count()


def test_the_bell_counts_up_live_and_the_page_groups_the_lines(browser, server):
    from playwright.sync_api import expect

    ana = UserFactory(username="ana")
    UserFactory(username="bo")
    post = post_create(author=ana, content_type="text", content="Sunset over the bay")
    me = Person(browser, server, "ana")
    friend = Person(browser, server, "bo")

    # ana is on her home page, nothing unread.
    me.open("/")
    expect(me.badge()).to_be_hidden()
    expect(me.bell()).to_have_attribute("aria-label", "Notifications")

    # bo follows her from her profile (htmx) ...
    friend.page.goto(f"{server.url}/u/ana/")
    friend.page.locator("[data-follow-state=none]").click()
    expect(friend.page.locator("[data-follow-state=following]")).to_be_visible()
    expect(me.badge()).to_have_text("1", timeout=EVENT_WAIT_MS)
    expect(me.badge()).to_be_visible()
    expect(me.bell()).to_have_attribute("aria-label", "Notifications, 1 unread")
    # Following brought the bell toggle beside the button (out of band); bo turns it on in place.
    toggle = friend.page.locator("[data-bell-state]")
    expect(toggle).to_have_attribute("data-bell-state", "off")
    friend.page.evaluate("window.__sameDocument = true")
    toggle.click()
    expect(toggle).to_have_attribute("data-bell-state", "on")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(friend.page.get_by_text("Bell on: you'll be notified of every new post by @ana.")).to_be_visible()
    assert friend.same_document()
    friend.shot("notifications-00-profile-bell.png")

    # ... likes her post ...
    friend.page.goto(f"{server.url}/posts/{post.pk}/")
    friend.page.locator("[data-like-state=none]").click()
    expect(friend.page.locator("[data-like-state=liked]")).to_be_visible()
    expect(me.badge()).to_have_text("2", timeout=EVENT_WAIT_MS)

    # ... comments on it ...
    friend.page.get_by_label("Add a comment").fill("What colours!")
    friend.page.get_by_role("button", name="Comment", exact=True).click()
    expect(friend.page.locator(".comment__content", has_text="What colours!")).to_be_visible()
    expect(me.badge()).to_have_text("3", timeout=EVENT_WAIT_MS)

    # ... and messages her (a plain form post; he lands in the conversation).
    friend.page.goto(f"{server.url}/messages/new/?to=ana")
    friend.page.fill("#id_content", "Drinks tonight?")
    friend.page.get_by_role("button", name="Send").click()
    expect(friend.page.locator("h1[data-chat-title]")).to_have_text("ana")
    expect(me.badge()).to_have_text("4", timeout=EVENT_WAIT_MS)
    expect(me.bell()).to_have_attribute("aria-label", "Notifications, 4 unread")
    assert me.same_document()  # all of it without a reload
    me.shot("notifications-01-bell-counts-up.png")

    # The bell leads to the grouped list, newest first, all unread.
    me.bell().click()
    expect(me.page).to_have_url(f"{server.url}/notifications/")
    rows = me.page.locator("li.notification")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("bo sent you a message")
    expect(rows.nth(1)).to_contain_text("bo commented on your post")
    expect(rows.nth(1)).to_contain_text("“What colours!”")
    expect(rows.nth(2)).to_contain_text("bo liked your post")
    expect(rows.nth(3)).to_contain_text("bo followed you")
    expect(me.page.locator("li.notification--unread")).to_have_count(4)
    me.wait_connected()
    me.page.evaluate("window.__sameDocument = true")
    me.shot("notifications-02-list.png")

    # Opening the like line reads it and goes to the post.
    rows.nth(2).get_by_role("button").click()
    expect(me.page).to_have_url(f"{server.url}/posts/{post.pk}/")
    expect(me.badge()).to_have_text("3")

    # Back on the list, the line is read; a new one from bo shows up live at the top.
    me.open("/notifications/")
    expect(me.page.locator("li.notification--unread")).to_have_count(3)
    friend.page.goto(f"{server.url}/posts/{post.pk}/")
    friend.page.get_by_label("Add a comment").fill("Seriously, stunning.")
    friend.page.get_by_role("button", name="Comment", exact=True).click()
    expect(me.badge()).to_have_text("4", timeout=EVENT_WAIT_MS)
    expect(rows.nth(0)).to_contain_text("“Seriously, stunning.”", timeout=EVENT_WAIT_MS)
    expect(rows).to_have_count(4)  # the same line: two comments on one post
    assert me.same_document()

    # Mark all as read: the list and the bell agree.
    me.page.get_by_role("button", name="Mark all as read").click()
    expect(me.page.get_by_text("All notifications marked as read.")).to_be_visible()
    expect(me.page.locator("li.notification--unread")).to_have_count(0)
    expect(me.badge()).to_be_hidden()

    assert me.problems == [] and friend.problems == []


def test_an_open_conversation_makes_no_message_notification(browser, server):
    from playwright.sync_api import expect

    ana = UserFactory(username="ana")
    bo = UserFactory(username="bo")
    cy = UserFactory(username="cy")
    me = Person(browser, server, "ana")
    friend = Person(browser, server, "bo")

    # bo writes first; ana is elsewhere, so she is told.
    friend.page.goto(f"{server.url}/messages/new/?to=ana")
    friend.page.fill("#id_content", "Are you there?")
    friend.page.get_by_role("button", name="Send").click()
    expect(friend.page.locator("h1[data-chat-title]")).to_have_text("ana")
    friend.wait_connected()
    conversation = re.search(r"/messages/([0-9a-f-]+)/", friend.page.url).group(1)
    assert wait_until(lambda: message_notifications(ana) == 1)

    # ana opens the conversation: her page says it looks at it, on the socket's open.
    me.open(f"/messages/{conversation}/")
    expect(me.page.locator("[data-chat-log] > li.chat-message")).to_have_count(1)
    me.settle()
    assert me.views()[-1] == conversation
    sockets = me.sockets

    # bo's next message appears on her screen and tells her nothing more.
    friend.page.locator("#id_content").press_sequentially("Hello?", delay=10)
    friend.page.locator("#id_content").press("Enter")
    expect(me.page.locator("[data-chat-log] > li.chat-message")).to_have_count(2, timeout=EVENT_WAIT_MS)
    expect(friend.page.locator("li.chat-message--mine[data-message-id]:not([data-message-id=''])")).to_have_count(
        2, timeout=EVENT_WAIT_MS
    )
    # Her screen got the message before its notification task ran. A probe behind it in the
    # queue (tasks run in order, in process or on the one solo worker) says when it has: bo's
    # message to cy, who looks at nothing, notifies cy after "Hello?" was decided.
    message_send(sender=bo, receiver_id=cy.pk, content="Probe")
    assert wait_until(lambda: message_notifications(cy) == 1)
    assert message_notifications(ana) == 1

    # ana's tab goes to the background: the page says it looks at nothing, and bo's message is
    # a notification again, counted on her bell live.
    me.page.evaluate(
        """() => {
            Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
            Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    me.settle()
    assert me.views()[-1] is None
    before = me.badge().inner_text() if me.badge().is_visible() else "0"
    friend.page.locator("#id_content").press_sequentially("Hello again", delay=10)
    friend.page.locator("#id_content").press("Enter")
    expect(friend.page.locator("li.chat-message--mine[data-message-id]:not([data-message-id=''])")).to_have_count(
        3, timeout=EVENT_WAIT_MS
    )
    # Exactly two: the message she looked at made none.
    assert wait_until(lambda: message_notifications(ana) >= 2)
    # If not, what her page did meanwhile: a reconnect, or a view it took back.
    assert message_notifications(ana) == 2, {"sockets opened": me.sockets - sockets, "views": me.views()}
    expect(me.badge()).to_have_text(str(int(before) + 1), timeout=EVENT_WAIT_MS)

    # Back in view: it looks at the conversation again.
    me.page.evaluate(
        """() => {
            Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
            Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    me.settle()
    assert me.views()[-1] == conversation
    assert me.same_document()
    me.shot("notifications-03-conversation.png")
    assert me.problems == [] and friend.problems == []

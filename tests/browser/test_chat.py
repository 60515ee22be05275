"""Direct messages live in Chromium against a real Daphne: two people chatting (messages appear
without a reload, typing shows on the other side, ticks turn delivered then read) and a group of
three where a message reaches the other two at once, and the group's changes show live as lines.

Sockets need an ASGI server, so, like tests/browser/test_feed_live.py, this drives a Daphne
process on the test database. Every write goes through the pages in that process, so the events
reach the other pages whether the channel layer is in memory or Redis. Each person has their
own browser context (their own cookies), as two people on two machines would.
"""

import re
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import SCREENSHOTS, sign_in
from tests.conftest import wait_for_js
from tests.e2e.conftest import service_env, spawn, start_daphne  # noqa: F401  (fixtures)
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

EVENT_WAIT_MS = 20000  # an upper bound for an event to arrive, not a measurement


@pytest.fixture
def server(service_env, start_daphne):  # noqa: F811
    service_env["THROTTLE_MESSAGE"] = "10000/1m"  # the Redis cache outlives runs
    return start_daphne()


class Person:
    """One signed-in person in their own browser context, with the page's CSP complaints and script errors."""

    def __init__(self, browser, server, username):
        self.username = username
        self.context = browser.new_context(viewport={"width": 1100, "height": 900})
        self.page = self.context.new_page()
        self.problems = []
        # The server's own failures show in its log; a page must never break the CSP or throw.
        self.page.on("console", lambda msg: "Content Security Policy" in msg.text and self.problems.append(msg.text))
        self.page.on("pageerror", lambda exc: self.problems.append(str(exc)))
        self.server = server
        sign_in(self.page, server.url, username)

    def open(self, path):
        self.page.goto(f"{self.server.url}{path}")
        self.wait_connected()
        self.page.evaluate("window.__sameDocument = true")

    def wait_connected(self):
        wait_for_js(self.page, "window.realtime && window.realtime.connected", timeout_ms=EVENT_WAIT_MS)

    def same_document(self):
        return self.page.evaluate("window.__sameDocument === true")

    def bubbles(self):
        return self.page.locator("[data-chat-log] > li.chat-message")

    def ticks_of(self, text):
        bubble = self.page.locator("li.chat-message--mine", has_text=text)
        return bubble.locator("[data-ticks]")

    def type(self, text):
        self.page.locator("#id_content").press_sequentially(text, delay=20)

    def shot(self, name):
        self.page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_two_people_chat_live(browser, server):
    from playwright.sync_api import expect

    UserFactory(username="ana")
    UserFactory(username="bo")
    ana = Person(browser, server, "ana")
    bo = Person(browser, server, "bo")

    # bo waits in his inbox.
    bo.open("/messages/")
    expect(bo.page.get_by_text("No conversations yet")).to_be_visible()

    # ana starts the conversation (a plain form post) and lands in the chat.
    ana.page.goto(f"{server.url}/messages/new/?to=bo")
    ana.page.fill("#id_content", "Hi bo! Got a minute?")
    ana.page.get_by_role("button", name="Send").click()
    expect(ana.page.locator("h1[data-chat-title]")).to_have_text("bo")
    ana.wait_connected()
    ana.page.evaluate("window.__sameDocument = true")
    expect(ana.bubbles()).to_have_count(1)

    # bo's inbox lists it without a reload, unread, with the nav badge; bo's device acknowledges it.
    row = bo.page.locator("li.conversation-row")
    expect(row).to_have_count(1, timeout=EVENT_WAIT_MS)
    expect(row).to_contain_text("Hi bo! Got a minute?")
    expect(row.locator(".conversation-row__unread")).to_contain_text("1")
    expect(bo.page.locator("[data-chat-nav] [data-chat-unread]")).to_contain_text("1", timeout=EVENT_WAIT_MS)
    assert bo.same_document()
    expect(ana.ticks_of("Got a minute?")).to_have_attribute("data-status", "delivered", timeout=EVENT_WAIT_MS)
    bo.shot("chat-01-bo-inbox.png")
    ana.shot("chat-02-ana-delivered.png")

    # bo opens the chat: it is read, and ana's ticks turn read.
    row.locator("a.conversation-row__link").click()
    expect(bo.page.locator("h1[data-chat-title]")).to_have_text("ana")
    bo.wait_connected()
    bo.page.evaluate("window.__sameDocument = true")
    expect(bo.bubbles()).to_have_count(1)
    expect(ana.ticks_of("Got a minute?")).to_have_attribute("data-status", "read", timeout=EVENT_WAIT_MS)
    expect(ana.ticks_of("Got a minute?")).to_have_text("✓✓Read")
    expect(bo.page.locator("[data-chat-nav] [data-chat-unread]")).to_have_count(0, timeout=EVENT_WAIT_MS)

    # ana types: bo sees it; ana sends over the socket: it appears for bo, already read.
    ana.type("Coffee at 3?")
    expect(bo.page.locator("[data-chat-typing]")).to_have_text("ana is typing…", timeout=EVENT_WAIT_MS)
    bo.shot("chat-03-bo-sees-typing.png")
    ana.page.locator("#id_content").press("Enter")
    expect(bo.bubbles()).to_have_count(2, timeout=EVENT_WAIT_MS)
    expect(bo.bubbles().last).to_contain_text("Coffee at 3?")
    expect(bo.page.locator("[data-chat-typing]")).to_have_text("")
    expect(ana.bubbles()).to_have_count(2)
    expect(ana.page.locator("#id_content")).to_have_value("")
    expect(ana.ticks_of("Coffee at 3?")).to_have_attribute("data-status", "read", timeout=EVENT_WAIT_MS)

    # bo replies: ana sees him typing, then the reply, without a reload.
    bo.type("Sure, see you there")
    expect(ana.page.locator("[data-chat-typing]")).to_have_text("bo is typing…", timeout=EVENT_WAIT_MS)
    bo.page.get_by_role("button", name="Send").click()
    expect(ana.bubbles()).to_have_count(3, timeout=EVENT_WAIT_MS)
    expect(ana.bubbles().last).to_contain_text("Sure, see you there")
    expect(ana.bubbles().last).not_to_have_class(re.compile(r"chat-message--mine"))
    expect(bo.ticks_of("Sure, see you there")).to_have_attribute("data-status", "read", timeout=EVENT_WAIT_MS)
    expect(bo.bubbles()).to_have_count(3)  # the reply and its message.new: one bubble
    ana.shot("chat-04-ana-gets-the-reply.png")
    bo.shot("chat-05-bo-conversation.png")

    assert ana.same_document() and bo.same_document()
    seqs = ana.page.eval_on_selector_all("[data-chat-log] > li.chat-message", "els => els.map(e => +e.dataset.seq)")
    assert seqs == [1, 2, 3]
    assert ana.problems == [] and bo.problems == []


def test_a_group_message_reaches_the_other_two(browser, server):
    from playwright.sync_api import expect

    for name in ("ana", "bo", "cy"):
        UserFactory(username=name)
    people = {name: Person(browser, server, name) for name in ("ana", "bo", "cy")}

    # ana makes the group with the form; bo and cy find it in their inboxes.
    ana = people["ana"]
    ana.page.goto(f"{server.url}/messages/new-group/")
    ana.page.fill("#id_title", "Climbing trip")
    ana.page.fill("#id_members", "bo, @cy")
    ana.page.get_by_role("button", name="Create group").click()
    expect(ana.page.locator("h1[data-chat-title]")).to_have_text("Climbing trip")
    path = urlsplit(ana.page.url).path
    for person in people.values():
        if person is not ana:
            person.open("/messages/")
            expect(person.page.locator("li.conversation-row")).to_contain_text("Climbing trip")
        person.open(path)
        expect(person.page.locator("h1[data-chat-title]")).to_have_text("Climbing trip")
        expect(person.page.locator("[data-chat-members] > li")).to_have_count(3)

    people["cy"].type("Who brings the rope?")
    people["cy"].page.locator("#id_content").press("Enter")
    for name in ("ana", "bo"):
        page = people[name].page
        expect(people[name].bubbles()).to_have_count(1, timeout=EVENT_WAIT_MS)
        expect(people[name].bubbles().first).to_contain_text("Who brings the rope?")
        expect(people[name].bubbles().first.locator("[data-message-sender]")).to_have_text("cy")
        expect(page.locator("[data-chat-typing]")).to_have_text("")
    # Both of them have it open and visible: read by everyone.
    expect(people["cy"].ticks_of("rope")).to_have_attribute("data-status", "read", timeout=EVENT_WAIT_MS)

    people["bo"].type("I will")
    people["bo"].page.get_by_role("button", name="Send").click()
    for name in ("ana", "cy"):
        expect(people[name].bubbles()).to_have_count(2, timeout=EVENT_WAIT_MS)
        expect(people[name].bubbles().last).to_contain_text("I will")
    expect(people["bo"].ticks_of("I will")).to_have_attribute("data-status", "read", timeout=EVENT_WAIT_MS)

    for name, person in people.items():
        person.shot(f"chat-group-{name}.png")
        assert person.same_document(), name
        assert person.problems == [], (name, person.problems)

    # ana renames the group (the form reloads her page): the others get the line live, centered.
    ana.page.fill("#id_title", "Crag day")
    ana.page.get_by_role("button", name="Rename").click()
    for name in ("bo", "cy"):
        line = people[name].page.locator("[data-chat-log] > li.chat-system [data-message-content]")
        expect(line).to_have_text("ana renamed the group to “Crag day”", timeout=EVENT_WAIT_MS)
        expect(people[name].bubbles()).to_have_count(2)  # a line, not a bubble
        assert people[name].same_document(), name

    # ana removes cy: cy's page turns read-only, ending with the line; bo sees the line too.
    ana.open(path)
    ana.page.get_by_role("button", name="Remove @cy").click()
    expect(people["bo"].page.locator("li.chat-system [data-message-content]").last).to_have_text(
        "ana removed cy", timeout=EVENT_WAIT_MS
    )
    cy = people["cy"].page
    expect(cy.locator("[data-chat-removed]")).to_be_visible(timeout=EVENT_WAIT_MS)
    expect(cy.locator("[data-chat-form]")).to_have_count(0)
    expect(cy.locator("li.chat-system [data-message-content]").last).to_have_text("ana removed cy")
    assert people["cy"].problems == []


@pytest.fixture
def long_chat(transactional_db):
    """45 messages between ana and bo, made before the browser starts (their events go nowhere)."""
    from messaging import services

    ana, bo = UserFactory(username="ana"), UserFactory(username="bo")
    conversation = services.message_send(sender=bo, receiver_id=ana.pk, content="message 1")[0]
    for i in range(2, 46):
        services.message_send(
            sender=ana if i % 2 else bo, conversation_id=conversation.conversation_id, content=f"message {i}"
        )
    return conversation.conversation_id


def test_scrolling_up_loads_older_messages(long_chat, browser, live_server):
    """The history pages in as the top of the log scrolls into view (no socket needed: WSGI server)."""
    from playwright.sync_api import expect

    person = Person(browser, live_server, "ana")
    person.page.goto(f"{live_server.url}/messages/{long_chat}/")
    person.page.evaluate("window.__sameDocument = true")
    expect(person.bubbles()).to_have_count(30)
    expect(person.bubbles().last).to_contain_text("message 45")

    person.page.locator("[data-chat-scroll]").evaluate("el => { el.scrollTop = -el.scrollHeight; }")

    expect(person.bubbles()).to_have_count(45)
    expect(person.page.locator("[data-chat-start]")).to_be_visible()
    expect(person.page.locator("[data-chat-older]")).to_have_count(0)
    seqs = person.page.eval_on_selector_all("[data-chat-log] > li.chat-message", "els => els.map(e => +e.dataset.seq)")
    assert seqs == list(range(1, 46))
    assert person.same_document()
    person.shot("chat-06-older-messages.png")
    assert person.problems == []

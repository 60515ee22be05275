"""The richer chat in Chromium against a real Daphne: the "New messages" line, a reaction seen live
on the other person's page, a reply with its quoted line, the composer pinned inside a phone's
viewport, and search within the conversation. Two people, each in their own browser context."""

import pytest

from messaging import services
from tests.browser.conftest import serious_axe_violations
from tests.browser.test_chat import EVENT_WAIT_MS, Person, server  # noqa: F401  (server: a fixture)
from tests.e2e.conftest import service_env, spawn, start_daphne  # noqa: F401  (fixtures)
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

PHONE = {"width": 390, "height": 844}


def test_react_reply_pinned_composer_and_search(browser, server):  # noqa: F811
    from playwright.sync_api import expect

    ana_user, bo_user = UserFactory(username="ana"), UserFactory(username="bo")
    first, _ = services.message_send(sender=bo_user, receiver_id=ana_user.pk, content="Pizza at 8?")
    for n in range(11):  # enough for the log to scroll on a phone
        services.message_send(sender=bo_user, conversation_id=first.conversation_id, content=f"line {n}")
    path = f"/messages/{first.conversation_id}/"

    # ana, on a phone, opens it: the unread line sits above bo's first message, the composer is on screen.
    ana = Person(browser, server, "ana")
    ana.page.set_viewport_size(PHONE)
    ana.open(path)
    divider = ana.page.locator("[data-chat-unread-divider]")
    expect(divider).to_have_text("New messages")
    assert ana.page.evaluate("document.querySelector('[data-chat-unread-divider]').nextElementSibling.textContent")
    expect(divider.locator("xpath=following-sibling::li[1]")).to_contain_text("Pizza at 8?")
    box = ana.page.locator("[data-chat-form]").bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box
    assert ana.page.evaluate("document.body.classList.contains('is-conversation')")
    # The page is brought to the composer's own place: it covers none of the log, and the log opens at
    # the unread line (more unread than fit).
    log = ana.page.locator("[data-chat-scroll]").bounding_box()
    assert log is not None and log["y"] >= 0 and log["y"] + log["height"] <= box["y"], (log, box)
    line = divider.bounding_box()
    assert line is not None and log["y"] <= line["y"] <= log["y"] + log["height"], (line, log)
    ana.shot("chat-extras-01-phone.png")

    # bo, on a laptop, has read nothing new since: no unread line for him.
    bo = Person(browser, server, "bo")
    bo.open(path)
    expect(bo.page.locator("[data-chat-unread-divider]")).to_have_count(0)

    # ana replies to "Pizza at 8?": both see the quoted line.
    pizza = ana.bubbles().filter(has_text="Pizza at 8?")
    pizza.hover()  # a pointer shows a message's actions on hover
    pizza.get_by_role("button", name="Reply to this message").click()
    expect(ana.page.locator("[data-chat-replying]")).to_contain_text("Replying to bo Pizza at 8?")
    ana.type("Yes! See you there")
    ana.page.locator("#id_content").press("Enter")
    expect(ana.page.locator("[data-chat-replying]")).to_be_hidden()
    reply = bo.bubbles().filter(has_text="See you there")
    expect(reply).to_have_count(1, timeout=EVENT_WAIT_MS)
    expect(reply.locator("[data-message-quote]")).to_contain_text("bo Pizza at 8?")
    expect(ana.bubbles().filter(has_text="See you there").locator("[data-message-quote]")).to_be_visible()

    # bo reacts 👍 to the reply: ana sees the chip arrive live, then bo takes it off and puts ❤️ on.
    reply.hover()
    reply.locator("summary", has_text="React").click()
    reply.get_by_role("button", name="React 👍").click()
    mine = reply.locator("[data-reaction='👍']")
    expect(mine).to_have_attribute("aria-pressed", "true", timeout=EVENT_WAIT_MS)
    theirs = ana.bubbles().filter(has_text="See you there").locator("[data-reaction='👍']")
    expect(theirs).to_contain_text("1", timeout=EVENT_WAIT_MS)
    expect(theirs).to_have_attribute("aria-pressed", "false")
    ana.shot("chat-extras-02-reaction-live.png")
    reply.locator("summary", has_text="React").click()  # the picker open, quotes and chips on the page
    assert serious_axe_violations(bo.page) == []
    reply.locator("summary", has_text="React").click()
    # ana adds hers by tapping the chip: 2, pressed on her side, live on bo's.
    theirs.click()
    expect(theirs).to_have_attribute("aria-pressed", "true", timeout=EVENT_WAIT_MS)
    expect(mine).to_contain_text("2", timeout=EVENT_WAIT_MS)
    mine.click()  # bo takes his off
    expect(theirs).to_contain_text("1", timeout=EVENT_WAIT_MS)
    expect(theirs).to_have_attribute("aria-pressed", "true")

    # ana searches the conversation from her phone.
    ana.page.locator("[data-chat-search] summary").click()
    ana.page.get_by_label("Search messages in this conversation").fill("pizza")
    ana.page.locator(".chat-search__form").get_by_role("button", name="Search").click()
    results = ana.page.locator("[data-chat-search-results]")
    expect(results.locator("h2")).to_have_text("1 result for “pizza”")
    expect(results.locator("[data-search-result]")).to_contain_text("Pizza at 8?")
    ana.wait_connected()
    box = ana.page.locator("[data-chat-form]").bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
    ana.shot("chat-extras-03-search.png")
    assert serious_axe_violations(ana.page) == []

    assert ana.problems == [] and bo.problems == []

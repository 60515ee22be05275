"""static/js/realtime.js in Chromium against a real Daphne: session-cookie auth, events, reconnect."""

import pytest
import requests

from tests.conftest import launch_chromium, require_chromium, wait_for_js
from tests.e2e.conftest import PASSWORD, register_and_login

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]

# Record every realtime:* event the page sees, from before realtime.js runs.
RECORDER = """
window.__realtime = [];
for (const name of ["open", "close", "session.ready", "follow.new", "pong", "error"]) {
  document.addEventListener("realtime:" + name, (e) => window.__realtime.push([name, e.detail]));
}
"""


@pytest.fixture
def page():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.console_problems = []
        page.on(
            "console",
            lambda msg: msg.type == "error" and "WebSocket" not in msg.text and page.console_problems.append(msg.text),
        )
        page.add_init_script(RECORDER)
        yield page
        browser.close()


def events(page, name):
    return page.evaluate("(name) => window.__realtime.filter((e) => e[0] === name).map((e) => e[1])", name)


def wait_for_event(page, name, count=1, timeout_ms=20000):
    wait_for_js(
        page,
        "([name, count]) => window.__realtime.filter((e) => e[0] === name).length >= count",
        [name, count],
        timeout_ms,
    )
    return events(page, name)


def test_page_gets_events_and_resyncs_after_the_server_restarts(page, start_daphne):
    daphne = start_daphne()
    alice, bob = register_and_login(daphne.url), register_and_login(daphne.url)

    # Bob signs in on the web: the socket authenticates with his session cookie and the page's Origin.
    page.goto(f"{daphne.url}/accounts/login/")
    page.fill("#id_login", bob.username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()
    page.wait_for_url(lambda url: "/accounts/login" not in url)
    assert page.evaluate("document.body.dataset.wsUrl") == "/ws/"
    [opened] = wait_for_event(page, "open")
    assert opened == {"reconnected": False, "user_id": bob.id}

    # A request/reply round trip through window.realtime.
    reply = page.evaluate("window.realtime.request('ping', {ts: 7})")
    assert reply["event"] == "pong" and reply["data"] == {"ts": 7}

    response = requests.post(
        f"{daphne.url}/api/v1/users/{alice.id}/follows",
        json={"followed_user_id": bob.id},
        headers=alice.auth,
        timeout=15,
    )
    assert response.status_code == 201, response.text
    [followed] = wait_for_event(page, "follow.new")
    assert followed["user"]["id"] == alice.id

    # The server goes away: the page hears realtime:close and schedules a retry.
    daphne.process.stop()
    closed = wait_for_event(page, "close")[0]  # more follow while retries find nobody listening
    assert closed["wasOpen"] is True
    assert closed["reconnectInMs"] is not None and 0 < closed["reconnectInMs"] <= 30000
    # Sent while down: queued, delivered once the socket is back.
    assert page.evaluate("window.realtime.send('ping', {ts: 8})") is False

    # It comes back on the same address: the page reconnects on its own and says so.
    start_daphne(port=daphne.port)
    reopened = wait_for_event(page, "open", count=2, timeout_ms=40000)
    assert reopened[-1] == {"reconnected": True, "user_id": bob.id}
    pongs = wait_for_event(page, "pong", count=2)
    assert pongs[-1] == {"ts": 8}
    assert page.console_problems == []

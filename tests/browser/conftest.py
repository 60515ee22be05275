"""Shared set-up for the Playwright tests: Debian's Chromium beside Django's live server."""

from pathlib import Path

import pytest

from tests.conftest import launch_chromium, require_chromium
from tests.factories import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def sign_in(page, base_url, username, password=PASSWORD):
    """Log in through the allauth form and wait until the page shows the signed-in nav."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Sign In", exact=True).click()
    # Signed in: the page has the main navigation (Sign out sits in a closed menu on a phone).
    expect(page.locator("body.has-nav")).to_have_count(1)


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; Django's ORM would otherwise refuse to run.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


def serious_axe_violations(page, context=None):
    """axe-core's serious and critical violations on the page as it is now, or in `context` (a
    selector or axe's include/exclude object): id, impact and up to three of the nodes."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=context)
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def watch_problems(page):
    """`page.problems`: every console error (CSP violations are console errors too) and script
    error, but the socket's: Django's live server is WSGI and has no /ws/ (the realtime tests run
    Daphne); the pages work without it."""
    page.problems = []
    page.on(
        "console",
        lambda msg: (
            msg.type == "error"
            and not msg.text.startswith("WebSocket connection to")
            and page.problems.append(msg.text)
        ),
    )
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    return page

"""The home feed live in Chromium against a real Daphne: "N new posts" for pushed and celebrity
posts alike, then a click puts them on top of the feed without reloading the page.

Sockets need an ASGI server, so, like tests/e2e/test_browser_realtime.py, this drives a Daphne
process on the test database (the live_server thread speaks WSGI only). The authors post through
Daphne's REST API, so the fan-out and its `feed.new_post` events start in the server's process
and reach the page whether the channel layer is in memory or Redis. With a broker configured
(CELERY_BROKER_URL), a real Celery worker runs the fan-out.
"""

import os

import pytest
import requests

from accounts.services import follow_create
from posts.services import post_create
from tests.browser.conftest import SCREENSHOTS, sign_in
from tests.conftest import bearer, wait_for_js
from tests.e2e.conftest import celery_worker, service_env, spawn, start_daphne  # noqa: F401  (fixtures)
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

# Authors with 2 followers are celebrities in the server processes: their posts are pulled, not pushed.
CELEBRITY_THRESHOLD = "2"


@pytest.fixture
def server(request, service_env, start_daphne):  # noqa: F811
    service_env["FEED_FANOUT_THRESHOLD"] = CELEBRITY_THRESHOLD
    if os.environ.get("CELERY_BROKER_URL"):
        request.getfixturevalue("celery_worker")
    return start_daphne()


def create_post(daphne, author, content):
    headers = {key.removeprefix("HTTP_").title(): value for key, value in bearer(author).items()}
    response = requests.post(
        f"{daphne.url}/api/v1/posts", json={"content_type": "text", "content": content}, headers=headers, timeout=15
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_new_posts_button_prepends_pushed_and_celebrity_posts(browser, server, start_daphne):  # noqa: F811
    from playwright.sync_api import expect

    reader, friend, star, fan = (UserFactory(username=name) for name in ("reader", "friend", "star", "fan"))
    follow_create(follower=reader, followed_user_id=friend.pk)
    follow_create(follower=reader, followed_user_id=star.pk)
    follow_create(follower=fan, followed_user_id=star.pk)
    post_create(author=friend, content_type="text", content="An older post from a friend")

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    csp_errors = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and csp_errors.append(msg.text))
    sign_in(page, server.url, "reader")
    page.goto(f"{server.url}/")
    feed = page.locator("[data-feed-posts] > article.post")
    expect(feed).to_have_count(1)
    expect(feed.first).to_contain_text("An older post from a friend")
    wait_for_js(page, "window.realtime && window.realtime.connected")
    page.evaluate("window.__sameDocument = true")
    button = page.locator("[data-feed-new]")
    expect(button).to_be_hidden()

    # A pushed post (the friend has one follower) and a celebrity's post (pulled at read time).
    pushed = create_post(server, friend, "Fresh from the oven")
    expect(button).to_have_text("1 new post")
    expect(button).to_be_visible()
    pulled = create_post(server, star, "Hello from the stage")
    expect(button).to_have_text("2 new posts")
    page.screenshot(path=str(SCREENSHOTS / "feed-01-new-posts.png"), full_page=True)

    button.click()
    expect(feed).to_have_count(3)
    expect(feed.nth(0)).to_have_attribute("data-post-id", pulled)
    expect(feed.nth(0)).to_contain_text("Hello from the stage")
    expect(feed.nth(1)).to_have_attribute("data-post-id", pushed)
    expect(feed.nth(2)).to_contain_text("An older post from a friend")
    expect(button).to_be_hidden()
    assert page.evaluate("window.__sameDocument") is True  # no full reload

    # The prepended cards are live HTMX: a like works in place.
    feed.nth(0).locator('[data-like-state="none"]').click()
    expect(feed.nth(0).locator('[data-like-state="liked"] [data-count="likes"]')).to_have_text("1")

    # The cursor moved on: the next click loads only what came after.
    latest = create_post(server, friend, "One more thing")
    expect(button).to_have_text("1 new post")
    button.click()
    expect(feed).to_have_count(4)
    expect(feed.first).to_have_attribute("data-post-id", latest)
    expect(button).to_be_hidden()
    assert page.evaluate("window.__sameDocument") is True
    page.screenshot(path=str(SCREENSHOTS / "feed-02-loaded.png"), full_page=True)

    # Posted while the socket was down: no event replay, the page counts it once it reconnects.
    server.process.stop()
    wait_for_js(page, "!window.realtime.connected")
    missed = post_create(author=friend, content_type="text", content="Posted while you were away")
    start_daphne(port=server.port)
    expect(button).to_have_text("1 new post", timeout=40000)
    button.click()
    expect(feed.first).to_have_attribute("data-post-id", str(missed.pk))
    expect(feed).to_have_count(5)
    assert page.evaluate("window.__sameDocument") is True
    assert csp_errors == []


def test_older_posts_append_in_place(browser, live_server):
    from playwright.sync_api import expect

    reader, friend = UserFactory(username="reader"), UserFactory(username="friend")
    follow_create(follower=reader, followed_user_id=friend.pk)
    for i in range(22):
        post_create(author=friend, content_type="text", content=f"Post number {i}")

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    sign_in(page, live_server.url, "reader")
    page.goto(f"{live_server.url}/")
    feed = page.locator("[data-feed-posts] > article.post")
    expect(feed).to_have_count(20)
    expect(feed.first).to_contain_text("Post number 21")
    page.evaluate("window.__sameDocument = true")

    page.get_by_role("link", name="Older posts").click()
    expect(feed).to_have_count(22)
    expect(feed.last).to_contain_text("Post number 0")
    expect(page.get_by_role("link", name="Older posts")).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True
    assert page.url == f"{live_server.url}/"

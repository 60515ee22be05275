"""Search in Chromium against a real Daphne: @mention and #hashtag autocomplete in the compose box
driven by the keyboard, then a search from the header box lands on the results tab."""

import pytest

from accounts.services import follow_create
from posts.services import post_create
from tests.browser.conftest import SCREENSHOTS, sign_in
from tests.e2e.conftest import service_env, spawn, start_daphne  # noqa: F401  (fixtures)
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


@pytest.fixture
def server(service_env, start_daphne):  # noqa: F811
    service_env["THROTTLE_SEARCH"] = "10000/1m"  # the Redis cache outlives earlier runs
    return start_daphne()


def named(username, display_name):
    user = UserFactory(username=username)
    user.profile.display_name = display_name
    user.profile.save()
    return user


def test_compose_autocomplete_and_header_search(browser, server):
    from playwright.sync_api import expect

    writer = UserFactory(username="writer")
    marta, mario = named("marta", "Marta Lopez"), named("mario", "Mario Rossi")
    follow_create(follower=writer, followed_user_id=marta.pk)  # people you follow come first
    follow_create(follower=marta, followed_user_id=mario.pk)  # so mario is a friend of a friend
    post_create(author=mario, content_type="text", content="Watching the launch tonight #Launch")

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    csp_errors = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and csp_errors.append(msg.text))
    sign_in(page, server.url, "writer")
    page.goto(f"{server.url}/posts/new/")

    content = page.locator("#id_content")
    content.press_sequentially("Ciao @mar")
    listbox = page.get_by_role("listbox", name="Suggestions")
    options = listbox.get_by_role("option")
    expect(options).to_have_count(2)
    expect(options.nth(0)).to_have_text("Marta Lopez @marta")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    expect(content).to_have_attribute("aria-activedescendant", options.nth(0).get_attribute("id"))
    content.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(content).to_have_attribute("aria-activedescendant", options.nth(1).get_attribute("id"))
    page.screenshot(path=str(SCREENSHOTS / "search-01-autocomplete.png"), full_page=True)
    content.press("Enter")
    expect(content).to_have_value("Ciao @mario ")
    expect(listbox).to_be_hidden()

    # Hashtags, inserted with Tab; Escape closes the list and leaves the text alone.
    content.press_sequentially("#lau")
    expect(options).to_have_text(["#launch 1 post"])
    content.press("Tab")
    expect(content).to_have_value("Ciao @mario #launch ")
    content.press_sequentially("@mar")
    expect(options).to_have_count(2)
    content.press("Escape")
    expect(listbox).to_be_hidden()
    expect(content).to_have_value("Ciao @mario #launch @mar")
    expect(content).to_be_focused()

    # The header's search box.
    page.get_by_role("searchbox", name="Search socialsite").fill("launch")
    page.get_by_role("searchbox", name="Search socialsite").press("Enter")
    expect(page).to_have_url(f"{server.url}/search/?q=launch")
    expect(page.get_by_role("navigation", name="Result types").get_by_role("link", name="Posts")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.locator("article.post")).to_have_count(1)
    expect(page.locator("article.post")).to_contain_text("Watching the launch tonight")
    page.get_by_role("link", name="Hashtags").click()
    expect(page.get_by_role("link", name="#launch")).to_have_attribute("href", "/tags/launch/")
    page.screenshot(path=str(SCREENSHOTS / "search-02-results.png"), full_page=True)

    # The home sidebar loads who to follow after the page.
    page.get_by_role("link", name="Home").click()
    panel = page.get_by_role("region", name="Who to follow")
    expect(panel.get_by_role("listitem")).to_contain_text(["Mario Rossi @mario Followed by marta"])
    expect(panel.get_by_role("button", name="Follow @mario")).to_be_visible()
    assert csp_errors == []

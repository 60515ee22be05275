"""In Chromium: a reader bookmarks a post and finds it on /bookmarks/, opens a post hidden behind
a content warning; its author pins an older post and sees it first on the profile. No console
error, no CSP violation, and axe finds nothing serious or critical on the pages involved."""

import pytest

from accounts import services as account_services
from posts import services as post_services
from posts.models import Bookmark
from tests.browser.conftest import SCREENSHOTS, serious_axe_violations, sign_in, watch_problems
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def open_page(browser, live_server, username):
    page = watch_problems(browser.new_context(viewport={"width": 390, "height": 844}).new_page())
    sign_in(page, live_server.url, username)
    return page


def test_bookmark_content_warning_and_pin(browser, live_server):
    from playwright.sync_api import expect

    author, reader = UserFactory(username="ada_x"), UserFactory(username="bob_x")
    account_services.follow_create(follower=reader, followed_user_id=author.pk)
    older = post_services.post_create(author=author, content="An older post worth pinning")
    post_services.post_create(author=author, content="Recipe: bread with three ingredients")
    post_services.post_create(author=author, content="The butler did it", spoiler_text="Mystery novel spoilers")

    # The reader: the warning hides the text until tapped.
    bob = open_page(browser, live_server, reader.username)
    bob.goto(f"{live_server.url}/")
    warning = bob.locator("details.post__cw")
    expect(warning.locator("summary")).to_contain_text("Mystery novel spoilers")
    expect(bob.get_by_text("The butler did it")).to_be_hidden()
    warning.locator("summary").click()
    expect(bob.get_by_text("The butler did it")).to_be_visible()
    assert serious_axe_violations(bob) == []

    # Bookmark the recipe (htmx swaps the button), then find it from the own profile.
    card = bob.locator("article.post", has_text="Recipe: bread")
    card.get_by_role("button", name="Bookmark this post").click()
    expect(card.get_by_role("button", name="Bookmarked this post")).to_have_attribute("aria-pressed", "true")
    assert Bookmark.objects.filter(user=reader).count() == 1
    bob.goto(f"{live_server.url}/u/{reader.username}/")
    bob.get_by_role("link", name="Bookmarks").click()
    expect(bob).to_have_url(f"{live_server.url}/bookmarks/")
    expect(bob.locator("article.post")).to_have_count(1)
    expect(bob.locator("article.post")).to_contain_text("Recipe: bread")
    bob.screenshot(path=str(SCREENSHOTS / "post-extras-bookmarks.png"), full_page=True)
    assert serious_axe_violations(bob) == []

    # The author pins the older post: it comes first, labelled.
    ada = open_page(browser, live_server, author.username)
    ada.goto(f"{live_server.url}/u/{author.username}/")
    ada.locator("article.post", has_text="An older post worth pinning").get_by_role(
        "button", name="Pin to profile"
    ).click()
    expect(ada.get_by_text("Pinned to your profile.")).to_be_visible()
    first = ada.locator("article.post").first
    expect(first).to_contain_text("An older post worth pinning")
    expect(first.locator("[data-pinned]")).to_have_text("Pinned")
    ada.screenshot(path=str(SCREENSHOTS / "post-extras-pinned.png"), full_page=True)
    assert serious_axe_violations(ada) == []
    older.refresh_from_db()
    assert older.pinned_at is not None

    assert bob.problems == [] and ada.problems == []

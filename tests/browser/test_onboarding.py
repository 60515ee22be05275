"""In Chromium at 390×844: Explore signed out; then a new account signs up, picks three interests,
follows three suggested accounts and lands on a home feed showing their posts. No console error,
no CSP violation, and axe finds nothing serious or critical on the pages involved."""

import pytest

from accounts import services as account_services
from posts import services as post_services
from tests.browser.conftest import SCREENSHOTS, serious_axe_violations, watch_problems
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

PASSWORD = "a-long-onboarding-password-42"


def shot(page, name):
    page.screenshot(path=str(SCREENSHOTS / f"onboarding-{name}.png"), full_page=True)


def test_explore_then_sign_up_pick_interests_follow_three_and_see_their_posts(browser, live_server):
    from playwright.sync_api import expect

    for name, interest in (("jazz_ann", "jazz"), ("chess_ben", "chess"), ("film_cat", "film")):
        person = UserFactory(username=name)
        account_services.interests_set(user=person, names=[interest])
        post_services.post_create(author=person, content=f"Hello from {name}, all about {interest}")
    loud = UserFactory(username="loud_dan")
    popular = post_services.post_create(author=loud, content="The most liked post this week")
    for fan in UserFactory.create_batch(2):
        post_services.like_create(user=fan, post_id=popular.pk)

    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = watch_problems(context.new_page())
    url = live_server.url

    # Signed out: Explore shows the trending posts and popular accounts.
    page.goto(f"{url}/explore/")
    expect(page.get_by_role("heading", name="Explore")).to_be_visible()
    first = page.locator("article.post").first
    expect(first).to_contain_text("The most liked post this week")
    expect(page.get_by_role("heading", name="Popular accounts")).to_be_visible()
    shot(page, "01-explore-signed-out")
    assert serious_axe_violations(page) == []

    # Sign up: the welcome steps come first.
    page.goto(f"{url}/accounts/signup/")
    page.fill("#id_email", "newbie@example.com")
    page.fill("#id_username", "newbie")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="What are you into?")).to_be_visible()
    for interest in ("Jazz", "Chess", "Film"):
        page.get_by_role("checkbox", name=interest).check()
        expect(page.get_by_role("checkbox", name=interest)).to_be_checked()
    shot(page, "02-interests")
    assert serious_axe_violations(page) == []
    page.get_by_role("button", name="Next: people to follow").click()

    expect(page.get_by_role("heading", name="Follow a few people")).to_be_visible()
    for name in ("jazz_ann", "chess_ben", "film_cat"):
        page.get_by_role("button", name=f"Follow @{name}").click()
        expect(page.get_by_role("button", name=f"Unfollow @{name}")).to_be_visible()  # htmx swapped it
    shot(page, "03-people")
    assert serious_axe_violations(page) == []
    page.get_by_role("button", name="Done").click()

    # Home: their posts, not an empty feed.
    expect(page.get_by_role("heading", name="Welcome, newbie")).to_be_visible()
    feed = page.locator("#feed")
    for name in ("jazz_ann", "chess_ben", "film_cat"):
        expect(feed.locator("article.post", has_text=f"Hello from {name}")).to_be_visible()
    expect(page.get_by_text("Popular on socialsite")).to_have_count(0)
    shot(page, "04-home")
    assert serious_axe_violations(page) == []
    assert page.problems == []
    context.close()

"""End to end in Chromium: sign up, sign out, sign in, edit the profile with an avatar, follow someone."""

import re

import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.conftest import image_bytes, launch_chromium, require_chromium
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-browser-password-42"


@pytest.fixture
def page():
    require_chromium()
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        page.csp_errors = []
        page.on("console", lambda msg: "Content Security Policy" in msg.text and page.csp_errors.append(msg.text))
        yield page
        browser.close()


def shot(page, name):
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_signup_profile_follow(page, live_server, tmp_path):
    from playwright.sync_api import expect

    other = UserFactory(username="grace")
    other.profile.display_name = "Grace Hopper"
    other.profile.save()
    url = live_server.url

    page.goto(f"{url}/accounts/signup/")
    page.fill("#id_email", "ada@example.com")
    page.fill("#id_username", "ada")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    shot(page, "01-signup")
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="What are you into?")).to_be_visible()  # onboarding: skipped here
    page.get_by_role("button", name="Skip for now").click()
    expect(page.get_by_role("heading", name="Welcome, ada")).to_be_visible()
    shot(page, "02-home-signed-in")

    page.get_by_role("button", name="Sign out").click()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Log in")).to_be_visible()
    shot(page, "03-signed-out")

    nav.get_by_role("link", name="Log in").click()
    page.fill("#id_login", "ada")
    page.fill("#id_password", PASSWORD)
    shot(page, "04-login")
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(page.get_by_role("heading", name="Welcome, ada")).to_be_visible()

    avatar = tmp_path / "avatar.png"
    avatar.write_bytes(image_bytes("PNG", size=(300, 200)))
    page.goto(f"{url}/settings/profile/")
    page.set_input_files("#id_avatar", str(avatar))
    page.fill("#id_bio", "Poet of numbers.")
    shot(page, "05-edit-profile")
    page.get_by_role("button", name="Save profile").click()

    expect(page).to_have_url(f"{url}/u/ada/")
    expect(page.get_by_text("Poet of numbers.")).to_be_visible()
    photo = page.get_by_role("img", name="Profile photo of ada")
    expect(photo).to_have_attribute("src", re.compile(r"/media/avatars/.+\.webp$"))
    assert photo.evaluate("img => img.complete && img.naturalWidth") == 400
    shot(page, "06-own-profile")

    page.goto(f"{url}/u/grace/")
    followers = page.locator('[data-count="followers"]')
    expect(followers).to_have_text("0")
    page.get_by_role("button", name="Follow @grace").click()
    # HTMX swaps the button and the counts in place.
    expect(page.get_by_role("button", name="Unfollow @grace")).to_be_visible()
    expect(followers).to_have_text("1")
    expect(page.locator("#messages")).to_contain_text("You now follow @grace.")
    shot(page, "07-followed")

    page.reload()
    expect(page.get_by_role("button", name="Unfollow @grace")).to_be_visible()
    expect(page.locator('[data-count="followers"]')).to_have_text("1")
    assert other.follower_set.filter(follower__username="ada").exists()
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "08-profile-mobile")
    assert page.csp_errors == []

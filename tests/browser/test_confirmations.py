"""In Chromium: deleting a post, blocking and unfollowing ask first; saying no changes nothing
(a new user lost a post, a follow and a friend to one click each)."""

import pytest

from accounts import services as account_services
from accounts.models import Block, Follow
from posts import services as post_services
from posts.models import Post
from tests.browser.conftest import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def answer(page, accept, questions):
    def on_dialog(dialog):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", on_dialog)


def test_destructive_actions_ask_first(browser, live_server):
    from playwright.sync_api import expect

    ana, bo = UserFactory(username="ana_c"), UserFactory(username="bo_c")
    account_services.follow_create(follower=ana, followed_user_id=bo.pk)
    post = post_services.post_create(author=ana, content="keep me")
    page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    sign_in(page, live_server.url, ana.username)
    questions = []

    # Delete post: no, then yes.
    page.goto(f"{live_server.url}/posts/{post.pk}/")
    answer(page, False, questions)
    page.get_by_role("button", name="Delete post").click()
    expect(page.get_by_text("keep me")).to_be_visible()
    assert Post.objects.filter(pk=post.pk, deleted_at__isnull=True).exists()
    answer(page, True, questions)
    page.get_by_role("button", name="Delete post").click()
    page.wait_for_url(lambda url: f"/posts/{post.pk}/" not in url)
    assert not Post.objects.filter(pk=post.pk, deleted_at__isnull=True).exists()

    # Unfollow (an htmx form): no keeps the follow.
    page.goto(f"{live_server.url}/u/{bo.username}/")
    answer(page, False, questions)
    page.get_by_role("button", name=f"Unfollow @{bo.username}", exact=True).click()
    expect(page.get_by_role("button", name=f"Unfollow @{bo.username}", exact=True)).to_be_visible()
    assert Follow.objects.filter(follower=ana, followed=bo).exists()
    answer(page, True, questions)
    page.get_by_role("button", name=f"Unfollow @{bo.username}", exact=True).click()
    expect(page.get_by_role("button", name=f"Follow @{bo.username}", exact=True)).to_be_visible()
    assert not Follow.objects.filter(follower=ana, followed=bo).exists()

    # The profile's menu closes with Escape.
    menu = page.locator("details.menu")
    page.get_by_label(f"More actions for @{bo.username}").click()
    expect(menu).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")

    # Block, from the profile's menu: no, then yes.
    page.get_by_label(f"More actions for @{bo.username}").click()
    answer(page, False, questions)
    page.get_by_role("button", name=f"Block @{bo.username}", exact=True).click()
    assert not Block.objects.exists()
    answer(page, True, questions)  # the menu is still open
    page.get_by_role("button", name=f"Block @{bo.username}", exact=True).click()
    expect(page.get_by_role("button", name=f"Unblock @{bo.username}", exact=True).first).to_be_visible()
    assert Block.objects.filter(blocker=ana, blocked=bo).exists()

    assert [q.split("?")[0] for q in questions] == [
        "Delete this post",
        "Delete this post",
        f"Unfollow @{bo.username}",
        f"Unfollow @{bo.username}",
        f"Block @{bo.username}",
        f"Block @{bo.username}",
    ]

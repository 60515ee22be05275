"""End to end in Chromium: three sepia photos with a caption, a hashtag and a tagged friend;
the friend comments, the author replies, a third user shares; profile and hashtag pages show it."""

import re

import pytest

from media.models import Media
from posts.models import Post, PostTag
from tests.browser.conftest import SCREENSHOTS, sign_in
from tests.conftest import image_bytes
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POST_URL = re.compile(r"/posts/([0-9a-f-]{36})/$")


def open_page(browser, live_server, username):
    """A separate browser context signed in through the login page."""

    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.csp_errors = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and page.csp_errors.append(msg.text))
    sign_in(page, live_server.url, username)
    return page


def shot(page, name):
    page.screenshot(path=str(SCREENSHOTS / f"posts-{name}.png"), full_page=True)


def test_photo_post_comment_reply_share(browser, live_server, tmp_path):
    from playwright.sync_api import expect

    UserFactory(username="ada")
    grace = UserFactory(username="grace")
    grace.profile.display_name = "Grace Hopper"
    grace.profile.save()
    UserFactory(username="linus")
    colors = [(220, 120, 40), (40, 160, 200), (90, 200, 90)]
    photos = []
    for i, color in enumerate(colors):
        path = tmp_path / f"photo{i}.png"
        path.write_bytes(image_bytes("PNG", size=(900, 600), color=color))
        photos.append(str(path))

    # The author composes: three photos, sepia, a caption with a hashtag, a tagged friend.
    ada = open_page(browser, live_server, "ada")
    ada.goto(f"{live_server.url}/posts/new/")
    ada.fill("#id_content", "Golden light at the pier #GoldenHour")
    expect(ada.locator(".char-counter")).to_have_text("36 / 2200 characters")
    ada.set_input_files("[data-compose-files]", photos)
    previews = ada.locator(".compose-preview")
    expect(previews).to_have_count(3)
    for i in range(3):
        ada.get_by_label(f"Alt text for photo{i}.png").fill(f"Pier photo {i + 1}")
    ada.get_by_label("Sepia").check()
    expect(ada.locator(".compose-preview__media.filter-sepia")).to_have_count(3)
    ada.fill("#id_tagged", "gra")
    option = ada.get_by_role("button", name="Grace Hopper (@grace)")
    expect(option).to_be_visible()
    shot(ada, "01-compose")
    option.click()
    expect(ada.locator("#id_tagged")).to_have_value("grace, ")
    ada.get_by_role("button", name="Post", exact=True).click()

    expect(ada).to_have_url(POST_URL)
    post_url = ada.url
    post = Post.objects.get(pk=POST_URL.search(post_url).group(1))
    # Media processing runs in-process after commit; reload until the three photos show.
    images = ada.locator("img.post-media__image")
    for _ in range(20):
        if images.count() == 3:
            break
        ada.wait_for_timeout(500)
        ada.reload()
    expect(images).to_have_count(3)
    for i in range(3):
        expect(images.nth(i)).to_have_attribute("alt", f"Pier photo {i + 1}")
    assert all(img.evaluate("el => el.complete && el.naturalWidth > 0") for img in images.all())
    assert set(post.media.values_list("filter", "status")) == {("sepia", Media.Status.READY)}
    assert PostTag.objects.filter(post=post, user=grace).exists()
    expect(ada.get_by_role("link", name="#GoldenHour")).to_be_visible()
    shot(ada, "02-detail")

    # The friend comments.
    friend = open_page(browser, live_server, "grace")
    friend.goto(post_url)
    friend.get_by_label("Add a comment").fill("What a glow!")
    friend.get_by_role("button", name="Comment", exact=True).click()
    expect(friend.locator(".comment__content", has_text="What a glow!")).to_be_visible()

    # The author replies in the thread.
    ada.reload()
    ada.locator("summary", has_text="Reply").first.click()
    ada.get_by_label("Reply to @grace").fill("Thanks, it was 7pm.")
    ada.get_by_role("button", name="Reply", exact=True).click()
    reply = ada.locator(".comment-list--nested .comment__content", has_text="Thanks, it was 7pm.")
    expect(reply).to_be_visible()
    shot(ada, "03-thread")

    # A third user likes and shares it, without a reload.
    third = open_page(browser, live_server, "linus")
    third.goto(post_url)
    third.locator('[data-like-state="none"]').click()
    expect(third.locator('[data-like-state="liked"] [data-count="likes"]')).to_have_text("1")
    third.locator('[data-share-state="none"]').click()
    expect(third.locator('[data-share-state="shared"] [data-count="shares"]')).to_have_text("1")
    expect(third.locator("#messages")).to_contain_text("You shared this post.")
    assert third.url == post_url
    shot(third, "04-shared")

    # The profile and the hashtag page show it.
    ada.goto(f"{live_server.url}/u/ada/")
    card = ada.locator(f"#post-{post.pk}")
    expect(card).to_contain_text("Golden light at the pier")
    expect(card.locator("img.post-media__image")).to_have_count(3)
    expect(card.locator('[data-count="shares"]')).to_have_text("1")
    shot(ada, "05-profile")
    ada.get_by_role("link", name="#GoldenHour").first.click()
    expect(ada).to_have_url(f"{live_server.url}/tags/goldenhour/")
    expect(ada.get_by_role("heading", name="#goldenhour")).to_be_visible()
    expect(ada.locator(f"#post-{post.pk}")).to_be_visible()
    ada.set_viewport_size({"width": 390, "height": 844})
    shot(ada, "06-hashtag-mobile")
    third.goto(f"{live_server.url}/u/linus/")
    expect(third.get_by_text("@linus reposted")).to_be_visible()

    for page in (ada, friend, third):
        assert page.csp_errors == []

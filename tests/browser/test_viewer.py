"""In Chromium at phone size: a three-photo post is a carousel with position dots in the feed;
on the post's page a tap on a photo opens the full-screen viewer with the alt text as its
caption, a swipe and the arrow keys move between the photos, Escape closes it and the focus is
back on the photo. No console error, no CSP violation, nothing serious for axe."""

import io
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from accounts import services as account_services
from posts import services as post_services
from tests.browser.conftest import SCREENSHOTS, serious_axe_violations, sign_in, watch_problems
from tests.factories import UserFactory
from tests.posts.factories import MediaFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

SHAPES = [((800, 600), "tomato"), ((600, 900), "seagreen"), ((900, 500), "royalblue")]


def _photo(owner, n, size, colour):
    media = MediaFactory(owner=owner, alt_text=f"A {colour} field, photo {n}", width=size[0], height=size[1])
    variants = {}
    for name, scale in (("original", 1), ("medium", 2)):
        out = io.BytesIO()
        Image.new("RGB", (size[0] // scale, size[1] // scale), colour).save(out, format="JPEG")
        path = default_storage.save(f"posts/media/{media.pk}/{name}.jpg", ContentFile(out.getvalue()))
        variants[name] = {"path": path, "width": size[0] // scale, "height": size[1] // scale}
    media.variants = variants
    media.save(update_fields=["variants"])
    return media


def test_carousel_and_viewer(browser, live_server):
    from playwright.sync_api import expect

    author, reader = UserFactory(username="ada_v"), UserFactory(username="bob_v")
    account_services.follow_create(follower=reader, followed_user_id=author.pk)
    photos = [_photo(author, n, size, colour) for n, (size, colour) in enumerate(SHAPES, start=1)]
    post = post_services.post_create(
        author=author, content="Three fields", content_type="image", media_ids=[m.pk for m in photos]
    )
    post = post[0] if isinstance(post, tuple) else post

    page = watch_problems(browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True).new_page())
    sign_in(page, live_server.url, reader.username)

    # The feed: a carousel; scrolling the strip moves the current dot.
    page.goto(f"{live_server.url}/")
    card = page.locator("article.post", has_text="Three fields")
    dots = card.locator(".post-media__dot")
    expect(dots).to_have_count(3)
    expect(card.get_by_role("img", name="Photo 1 of 3")).to_have_attribute("aria-current", "true")
    strip = card.locator("[data-carousel]")
    strip.evaluate("strip => strip.scrollTo({left: strip.clientWidth, behavior: 'instant'})")
    expect(card.get_by_role("img", name="Photo 2 of 3")).to_have_attribute("aria-current", "true")
    expect(card.get_by_role("img", name="Photo 1 of 3")).not_to_have_attribute("aria-current", "true")
    page.screenshot(path=str(SCREENSHOTS / "viewer-carousel.png"))
    assert serious_axe_violations(page) == []

    # The post's page: photos at full width in their own shape; a tap opens the viewer.
    page.goto(f"{live_server.url}{reverse('post_detail', args=[post.pk])}")
    first = page.locator("a[data-viewer-item]").nth(0)
    box = page.locator("img.post-media__image").nth(1).bounding_box()
    assert abs(box["width"] / box["height"] - 600 / 900) < 0.02  # the portrait one, not cropped
    first.tap()
    viewer = page.locator("dialog[data-viewer]")
    expect(viewer).to_be_visible()
    expect(viewer.locator("figcaption")).to_have_text("A tomato field, photo 1")
    expect(viewer.locator("img")).to_have_attribute("src", re.compile(rf"/media/posts/media/{photos[0].pk}/original"))
    assert serious_axe_violations(page) == []
    page.screenshot(path=str(SCREENSHOTS / "viewer-open.png"))

    # A swipe to the left: the next photo.
    image = viewer.locator("figure")
    image.dispatch_event("pointerdown", {"clientX": 300, "clientY": 400, "pointerId": 1, "isPrimary": True})
    image.dispatch_event("pointerup", {"clientX": 120, "clientY": 410, "pointerId": 1, "isPrimary": True})
    expect(viewer.locator("figcaption")).to_have_text("A seagreen field, photo 2")
    expect(viewer.locator(".viewer__count")).to_have_text("Photo 2 of 3")
    # The arrow keys.
    page.keyboard.press("ArrowRight")
    expect(viewer.locator("figcaption")).to_have_text("A royalblue field, photo 3")
    expect(viewer.get_by_role("button", name="Next photo")).to_be_hidden()
    page.keyboard.press("ArrowLeft")
    expect(viewer.locator("figcaption")).to_have_text("A seagreen field, photo 2")
    # Escape closes; the focus is back on the photo that opened it.
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    assert page.evaluate("document.activeElement === document.querySelectorAll('a[data-viewer-item]')[0]")
    assert page.problems == []

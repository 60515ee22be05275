"""Post photos at their own size: full width on the post's page, a carousel with dots in cards,
every photo a link to its full-size variant (static/js/viewer.js opens it in a <dialog>)."""

import re

import pytest
from django.urls import reverse

from tests.posts.factories import MediaFactory

pytestmark = pytest.mark.django_db

SIGNED = r"\?expires=\d+&amp;signature=[0-9a-f]{64}"


def _photos(owner, count):
    return [
        MediaFactory(
            owner=owner,
            alt_text=f"Photo number {n}",
            width=600 + n,
            height=400 + n,
            variants={
                "original": {"path": f"posts/media/p{n}/original.jpg", "width": 600 + n, "height": 400 + n},
                "medium": {"path": f"posts/media/p{n}/medium.jpg", "width": 300, "height": 200},
            },
        )
        for n in range(1, count + 1)
    ]


def test_the_post_page_shows_each_photo_at_full_width_linking_to_its_full_size(client, user, post_by):
    post = post_by(user, "three", content_type="image", media_ids=[m.pk for m in _photos(user, 3)])
    html = client.get(reverse("post_detail", args=[post.pk])).content.decode()
    block = re.search(
        r'<div class="post-media post-media--full" data-viewer-group>.*?</div>\s*</div>\s*</div>', html, re.S
    )
    assert block, "the post page's media block"
    links = re.findall(
        r'<a class="post-media__link" href="([^"]+)" data-viewer-item><img ([^>]*)>(.*?)</a>', block.group(0)
    )
    assert len(links) == 3
    for n, (href, img, label) in enumerate(links, start=1):
        assert re.fullmatch(rf"/media/posts/media/p{n}/original.jpg{SIGNED}", href)
        assert f'alt="Photo number {n}"' in img
        assert f'width="{600 + n}" height="{400 + n}"' in img
        assert f"/media/posts/media/p{n}/medium.jpg" in img
        # The first is on the first screen: not lazy.
        assert ('loading="lazy"' in img) == (n > 1) and ('fetchpriority="high"' in img) == (n == 1)
        assert f"Open photo {n} of 3 in full size" in label
    assert "data-carousel" not in block.group(0)  # no dots on the post's page


def test_a_card_with_several_photos_is_a_carousel_with_dots(client, user, post_by):
    post_by(user, "three", content_type="image", media_ids=[m.pk for m in _photos(user, 3)])
    client.force_login(user)
    html = client.get("/").content.decode()
    assert '<div class="post-media post-media--carousel" data-viewer-group>' in html
    assert '<div class="post-media__strip" data-carousel>' in html
    dots = re.findall(r'<span class="post-media__dot" role="img" aria-label="([^"]+)"( aria-current="true")?>', html)
    assert dots == [("Photo 1 of 3", ' aria-current="true"'), ("Photo 2 of 3", ""), ("Photo 3 of 3", "")]
    assert len(re.findall(rf'href="/media/posts/media/p\d/original.jpg{SIGNED}" data-viewer-item', html)) == 3
    assert html.count('loading="lazy" decoding="async"><span class="sr-only">Open photo') == 3  # all lazy in cards


def test_a_single_photo_card_has_no_dots(client, user, post_by):
    post_by(user, "one", content_type="image", media_ids=[_photos(user, 1)[0].pk])
    client.force_login(user)
    html = client.get("/").content.decode()
    assert '<div class="post-media post-media--single" data-viewer-group>' in html
    assert "post-media__dot" not in html and "data-carousel" not in html


def test_the_viewer_script_is_on_every_page(client):
    html = client.get(reverse("account_login")).content.decode()
    assert re.search(r'<script src="/static/js/viewer\.js[^"]*" defer></script>', html)

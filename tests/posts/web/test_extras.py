"""Bookmarks, pins, content warnings and alt text on the web pages."""

import re

import pytest
from django.urls import reverse

from posts import services
from posts.models import Bookmark, Post
from tests.factories import UserFactory
from tests.posts.factories import MediaFactory
from tests.posts.web.conftest import HTMX

pytestmark = pytest.mark.django_db


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


class TestBookmarks:
    def test_htmx_toggle_and_the_bookmarks_page(self, client, user, other_user, post_by):
        post = post_by(other_user, "a recipe to keep")
        client.force_login(user)
        html = client.post(reverse("post_bookmark", args=[post.pk]), **HTMX).content.decode()
        assert "<html" not in html and 'data-bookmark-state="saved"' in html and 'aria-pressed="true"' in html
        assert f'hx-post="{reverse("post_unbookmark", args=[post.pk])}"' in html
        client.post(reverse("post_bookmark", args=[post.pk]), **HTMX)  # a double tap
        assert Bookmark.objects.filter(user=user).count() == 1
        listed = page(client, reverse("bookmarks"))
        assert "a recipe to keep" in listed and 'data-bookmark-state="saved"' in listed
        # The home feed's cards and the post's own page show the same state.
        assert 'data-bookmark-state="saved"' in page(client, reverse("post_detail", args=[post.pk]))
        html = client.post(reverse("post_unbookmark", args=[post.pk]), **HTMX).content.decode()
        assert 'data-bookmark-state="none"' in html
        assert "No bookmarks yet" in page(client, reverse("bookmarks"))

    def test_without_htmx_and_signed_out(self, client, user, other_user, post_by, act):
        post = post_by(other_user)
        assert client.get(reverse("bookmarks")).status_code == 302  # to the sign-in page
        assert client.post(reverse("post_bookmark", args=[post.pk])).status_code == 302
        assert not Bookmark.objects.exists()
        client.force_login(user)
        response = client.post(reverse("post_bookmark", args=[post.pk]), {"next": "/tags/x/"})
        assert response.status_code == 302 and response.url == "/tags/x/"
        assert Bookmark.objects.filter(user=user, post=post).exists()
        act(services.post_delete, post=post, actor=other_user)
        # Letting go of a post that went away: nothing to swap in, no error.
        gone = client.post(reverse("post_unbookmark", args=[post.pk]), **HTMX)
        assert gone.status_code == 200 and not Bookmark.objects.exists()
        hidden = post_by(other_user, visibility="followers")
        assert client.post(reverse("post_bookmark", args=[hidden.pk]), **HTMX).status_code == 404

    def test_the_own_profile_links_to_bookmarks(self, client, user, other_user):
        client.force_login(user)
        assert f'href="{reverse("bookmarks")}"' in page(client, reverse("profile", args=[user.username]))
        assert f'href="{reverse("bookmarks")}"' not in page(client, reverse("profile", args=[other_user.username]))

    def test_home_cards_show_the_viewers_bookmarks(self, client, user, other_user, post_by, follow):
        follow(user, other_user)
        kept, other = post_by(other_user, "kept"), post_by(other_user, "other")
        services.bookmark_add(user=user, post_id=kept.pk)
        client.force_login(user)
        html = page(client, "/")
        cards = dict(re.findall(r'data-post-id="([^"]+)">(.*?)</article>', html, re.S))
        assert 'data-bookmark-state="saved"' in cards[str(kept.pk)]
        assert 'data-bookmark-state="none"' in cards[str(other.pk)]


class TestPins:
    def test_pinned_posts_come_first_with_a_label(self, client, user, other_user, post_by):
        posts = [post_by(user, f"post number {n}") for n in range(3)]
        client.force_login(user)
        response = client.post(
            reverse("post_pin", args=[posts[0].pk]), {"next": reverse("profile", args=[user.username])}
        )
        assert response.status_code == 302
        client.force_login(other_user)
        html = page(client, reverse("profile", args=[user.username]))
        order = [html.index(f"post number {n}") for n in (0, 2, 1)]
        assert order == sorted(order)
        assert html.count("data-pinned") == 1 and html.index("data-pinned") < order[0]
        assert "data-pin-state" not in html  # only the author pins
        assert client.post(reverse("post_pin", args=[posts[1].pk])).status_code == 403
        client.force_login(user)
        own = page(client, reverse("profile", args=[user.username]))
        assert own.count('data-pin-state="pinned"') == 1 and own.count('data-pin-state="none"') == 2

    def test_the_fourth_pin_says_why_not(self, client, user, post_by):
        posts = [post_by(user, f"post {n}") for n in range(4)]
        for post in posts[:3]:
            services.post_pin(user=user, post_id=post.pk)
        client.force_login(user)
        response = client.post(reverse("post_pin", args=[posts[3].pk]), follow=True)
        assert "at most 3 posts" in response.content.decode()
        assert not Post.objects.get(pk=posts[3].pk).pinned_at
        response = client.post(reverse("post_unpin", args=[posts[0].pk]), follow=True)
        assert "Unpinned." in response.content.decode()


class TestContentWarnings:
    def test_compose_and_edit_keep_it(self, client, user):
        client.force_login(user)
        response = client.post(
            reverse("post_create"),
            {"content": "who did it", "spoiler_text": "<i>Mystery</i> spoilers", "visibility": "public"},
        )
        assert response.status_code == 302, response.content.decode()
        post = Post.objects.get(author=user)
        assert post.spoiler_text == "<i>Mystery</i> spoilers"
        edit = page(client, reverse("post_edit", args=[post.pk]))
        assert 'value="&lt;i&gt;Mystery&lt;/i&gt; spoilers"' in edit
        client.post(
            reverse("post_edit", args=[post.pk]),
            {"content": "who did it, edited", "spoiler_text": post.spoiler_text, "visibility": "public"},
        )
        post.refresh_from_db()
        assert (post.content, post.spoiler_text) == ("who did it, edited", "<i>Mystery</i> spoilers")

    def test_cards_hide_the_content_behind_the_warning(self, client, user, other_user, post_by, follow):
        follow(user, other_user)
        image = MediaFactory(owner=other_user)
        post = post_by(other_user, "the butler", spoiler_text="<b>Plot</b>", content_type="image", media_ids=[image.pk])
        client.force_login(user)
        for url in ("/", reverse("post_detail", args=[post.pk]), reverse("profile", args=[other_user.username])):
            html = page(client, url)
            details = re.search(r'<details class="post__cw" data-cw>(.*?)</details>', html, re.S)
            assert details, url
            summary = re.search(r"<summary[^>]*>(.*?)</summary>", details.group(1), re.S).group(1)
            assert "&lt;b&gt;Plot&lt;/b&gt;" in summary and "Show content" in summary
            assert "the butler" in details.group(1) and "post-media__image" in details.group(1)
            assert "<b>Plot</b>" not in html


def test_photos_carry_their_alt_text_or_an_empty_one(client, user, post_by):
    described = MediaFactory(owner=user, alt_text='A "red" kite')
    bare = MediaFactory(owner=user)
    post = post_by(user, "two photos", content_type="image", media_ids=[described.pk, bare.pk])
    html = page(client, reverse("post_detail", args=[post.pk]))
    images = re.findall(r'<img class="post-media__image"[^>]*>', html)
    assert len(images) == 2
    assert 'alt="A &quot;red&quot; kite"' in images[0]
    assert ' alt=""' in images[1]


def test_the_compose_page_has_the_warning_field(client, user):
    client.force_login(user)
    html = page(client, reverse("post_create"))
    assert 'name="spoiler_text"' in html and "Content warning" in html
    assert "Describe each photo" in html  # the per-photo alt text inputs come with each preview (compose.js)


def test_an_unknown_user_cannot_pin(client, post_by):
    post = post_by(UserFactory())
    assert client.post(reverse("post_pin", args=[post.pk])).status_code == 302  # to sign in
    assert Post.objects.get(pk=post.pk).pinned_at is None

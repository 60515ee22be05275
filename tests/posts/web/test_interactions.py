"""Likes, shares, comments, replies and author-only edits from the web pages."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from posts import services
from posts.models import Comment, Like, Post
from tests.posts.web.conftest import HTMX

pytestmark = pytest.mark.django_db


def detail(post):
    return reverse("post_detail", args=[post.pk])


# --- Likes -----------------------------------------------------------------------------------------------


def test_htmx_like_and_unlike_return_the_button_with_the_count(client, user, other_user, make_post):
    post = make_post(other_user)
    client.force_login(user)

    liked = client.post(reverse("post_like", args=[post.pk]), **HTMX)
    html = liked.content.decode()
    assert liked.status_code == 200 and "<html" not in html
    assert 'data-like-state="liked"' in html and 'data-count="likes">1<' in html
    assert f'hx-post="{reverse("post_unlike", args=[post.pk])}"' in html
    assert 'id="messages" hx-swap-oob="innerHTML"' in html

    again = client.post(reverse("post_like", args=[post.pk]), **HTMX).content.decode()
    assert 'data-count="likes">1<' in again  # idempotent
    assert Like.objects.filter(post=post).count() == 1

    unliked = client.post(reverse("post_unlike", args=[post.pk]), **HTMX).content.decode()
    assert 'data-like-state="none"' in unliked and 'data-count="likes">0<' in unliked
    assert Post.objects.get(pk=post.pk).likes_count == 0


def test_like_without_htmx_redirects_back(client, user, other_user, make_post):
    post = make_post(other_user)
    client.force_login(user)
    response = client.post(reverse("post_like", args=[post.pk]), {"next": "/tags/x/"})
    assert response.status_code == 302 and response.url == "/tags/x/"
    response = client.post(reverse("post_like", args=[post.pk]), {"next": "https://evil.example/"})
    assert response.url == detail(post)
    assert 'data-like-state="liked"' in client.get(detail(post)).content.decode()


def test_like_needs_login_post_and_visibility(client, user, other_user, make_post):
    post = make_post(other_user, visibility="followers")
    url = reverse("post_like", args=[post.pk])
    assert client.post(url).url.startswith(reverse("account_login"))
    client.force_login(user)
    assert client.get(url).status_code == 405
    assert client.post(url, **HTMX).status_code == 404
    assert client.post(url).status_code == 404
    assert not Like.objects.exists()


def test_csrf_is_enforced(user, other_user, make_post):
    post = make_post(other_user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(reverse("post_like", args=[post.pk]), **HTMX).status_code == 403
    assert client.post(reverse("comment_create", args=[post.pk]), {"content": "hi"}).status_code == 403
    assert client.post(reverse("post_create"), {"content": "hi", "visibility": "public"}).status_code == 403
    assert not Like.objects.exists() and not Comment.objects.exists()
    assert Post.objects.count() == 1


# --- Shares ----------------------------------------------------------------------------------------------


def test_htmx_share_returns_the_button_with_the_count(client, user, other_user, make_post):
    post = make_post(other_user)
    client.force_login(user)

    html = client.post(reverse("post_share", args=[post.pk]), **HTMX).content.decode()
    assert 'data-share-state="shared"' in html and 'data-count="shares">1<' in html
    assert "You shared this post." in html

    again = client.post(reverse("post_share", args=[post.pk]), **HTMX).content.decode()
    assert 'data-count="shares">1<' in again and "You already shared this post." in again
    repost = Post.objects.get(author=user)
    assert repost.shared_post_id == post.pk and repost.content == ""
    page = client.get(reverse("profile", args=[user.username])).content.decode()
    assert f"@{user.username} reposted" in page


def test_quote_share_redirects_to_the_new_post(client, user, other_user, make_post):
    post = make_post(other_user, "original")
    client.force_login(user)
    response = client.post(reverse("post_share", args=[post.pk]), {"content": "So true #quote"})
    quote = Post.objects.get(author=user)
    assert response.url == detail(quote)
    assert quote.content == "So true #quote" and Post.objects.get(pk=post.pk).shares_count == 1


def test_share_of_a_followers_only_post_is_refused(client, user, other_user, make_post):
    account_services.follow_create(follower=user, followed_user_id=other_user.pk)
    post = make_post(other_user, visibility="followers")
    client.force_login(user)
    html = client.get(detail(post)).content.decode()
    assert reverse("post_share", args=[post.pk]) not in html
    response = client.post(reverse("post_share", args=[post.pk]), **HTMX)
    assert "Only public posts can be shared." in response.content.decode()
    assert Post.objects.filter(author=user).count() == 0


# --- Comments --------------------------------------------------------------------------------------------


def test_comment_and_reply(client, user, other_user, make_post):
    post = make_post(user)
    client.force_login(other_user)
    response = client.post(reverse("comment_create", args=[post.pk]), {"content": "Nice <b>one</b>"})
    comment = Comment.objects.get()
    assert response.url == f"{detail(post)}#comment-{comment.pk}"

    client.force_login(user)
    client.post(reverse("comment_create", args=[post.pk]), {"content": "Thanks!", "parent": str(comment.pk)})
    reply = Comment.objects.get(parent=comment)
    html = client.get(detail(post)).content.decode()
    assert "Nice &lt;b&gt;one&lt;/b&gt;" in html and "Thanks!" in html
    assert html.index(f'id="comment-{comment.pk}"') < html.index(f'id="comment-{reply.pk}"')
    assert '<label for="comment-new-content">Add a comment</label>' in html
    assert f"Reply to @{other_user.username}" in html
    assert Post.objects.get(pk=post.pk).comments_count == 2


def test_reply_to_a_comment_of_another_post_is_refused(client, user, make_post):
    first, second = make_post(user, "one"), make_post(user, "two")
    comment = services.comment_create(author=user, post_id=first.pk, content="here")
    client.force_login(user)
    response = client.post(
        reverse("comment_create", args=[second.pk]), {"content": "x", "parent": str(comment.pk)}, follow=True
    )
    assert "That comment belongs to another post." in response.content.decode()
    assert Comment.objects.count() == 1


def test_comment_on_invisible_post_is_404(client, user, other_user, make_post):
    post = make_post(other_user, visibility="followers")
    client.force_login(user)
    assert client.post(reverse("comment_create", args=[post.pk]), {"content": "hi"}).status_code == 404
    assert not Comment.objects.exists()


def test_empty_comment_shows_a_message(client, user, make_post):
    post = make_post(user)
    client.force_login(user)
    response = client.post(reverse("comment_create", args=[post.pk]), {"content": ""}, follow=True)
    assert "This field is required." in response.content.decode()
    assert not Comment.objects.exists()


def _chain(post, author, depth):
    comments, parent = [], None
    for i in range(depth):
        parent = services.comment_create(
            author=author, post_id=post.pk, content=f"level {i + 1}", parent_comment_id=parent and parent.pk
        )
        comments.append(parent)
    return comments


def test_thread_shows_three_levels_then_continue_thread(client, user, make_post):
    post = make_post(user)
    chain = _chain(post, user, 6)

    html = client.get(detail(post)).content.decode()
    assert "level 1" in html and "level 2" in html and "level 3" in html and "level 4" not in html
    continue_url = reverse("comment_thread", args=[post.pk, chain[2].pk])
    assert f'href="{continue_url}"' in html and "Continue thread (1 reply)" in html

    thread = client.get(continue_url).content.decode()
    assert "level 3" in thread and "level 4" in thread and "level 5" in thread and "level 6" not in thread
    assert "level 2" not in thread
    assert reverse("comment_thread", args=[post.pk, chain[4].pk]) in thread
    assert reverse("comment_thread", args=[post.pk, chain[1].pk]) in thread  # up one level


def test_thread_page_404s(client, user, other_user, make_post):
    post, other = make_post(user), make_post(user, "other")
    comment = services.comment_create(author=user, post_id=post.pk, content="c")
    assert client.get(reverse("comment_thread", args=[other.pk, comment.pk])).status_code == 404
    hidden = make_post(user, "hidden", visibility="followers")
    hidden_comment = services.comment_create(author=user, post_id=hidden.pk, content="c")
    client.force_login(other_user)
    assert client.get(reverse("comment_thread", args=[hidden.pk, hidden_comment.pk])).status_code == 404


def test_reply_from_thread_page_returns_there(client, user, make_post):
    post = make_post(user)
    chain = _chain(post, user, 4)
    thread_url = reverse("comment_thread", args=[post.pk, chain[2].pk])
    client.force_login(user)
    response = client.post(
        reverse("comment_create", args=[post.pk]), {"content": "deep", "parent": str(chain[3].pk), "next": thread_url}
    )
    assert response.url.startswith(thread_url + "#comment-")
    assert "deep" in client.get(thread_url).content.decode()


def test_comment_edit_and_delete_by_its_author(client, user, other_user, make_post):
    post = make_post(user)
    comment = services.comment_create(author=other_user, post_id=post.pk, content="first try")
    client.force_login(other_user)
    edit_url = reverse("comment_edit", args=[post.pk, comment.pk])
    assert "first try" in client.get(edit_url).content.decode()
    response = client.post(edit_url, {"content": "second try"})
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.content == "second try" and comment.edited
    client.post(reverse("comment_delete", args=[post.pk, comment.pk]))
    comment.refresh_from_db()
    assert comment.deleted_at is not None
    assert "second try" not in client.get(detail(post)).content.decode()


def test_others_cannot_edit_or_delete_a_comment(client, user, other_user, make_post):
    from tests.factories import UserFactory

    post = make_post(user)
    comment = services.comment_create(author=other_user, post_id=post.pk, content="mine")
    stranger = UserFactory()
    client.force_login(stranger)
    assert client.get(reverse("comment_edit", args=[post.pk, comment.pk])).status_code == 403
    assert client.post(reverse("comment_edit", args=[post.pk, comment.pk]), {"content": "hacked"}).status_code == 403
    assert client.post(reverse("comment_delete", args=[post.pk, comment.pk])).status_code == 403
    html = client.get(detail(post)).content.decode()
    assert reverse("comment_delete", args=[post.pk, comment.pk]) not in html
    comment.refresh_from_db()
    assert comment.content == "mine" and comment.deleted_at is None

    # The post's author may delete it, but not edit it.
    client.force_login(user)
    assert client.post(reverse("comment_edit", args=[post.pk, comment.pk]), {"content": "x"}).status_code == 403
    assert reverse("comment_delete", args=[post.pk, comment.pk]) in client.get(detail(post)).content.decode()
    client.post(reverse("comment_delete", args=[post.pk, comment.pk]))
    comment.refresh_from_db()
    assert comment.content == "mine" and comment.deleted_at is not None


# --- Post edit and delete -----------------------------------------------------------------------------------


def test_author_edits_a_post(client, user, make_post):
    post = make_post(user, "typo #old")
    client.force_login(user)
    url = reverse("post_edit", args=[post.pk])
    assert "typo #old" in client.get(url).content.decode()
    response = client.post(url, {"content": "fixed #new", "visibility": "followers"})
    assert response.url == detail(post)
    post.refresh_from_db()
    assert post.content == "fixed #new" and post.visibility == "followers" and post.edited
    assert list(post.hashtags.values_list("name", flat=True)) == ["new"]
    assert "edited" in client.get(detail(post)).content.decode()


def test_edit_with_too_long_content_is_a_form_error(client, user, make_post):
    post = make_post(user, "short")
    client.force_login(user)
    response = client.post(reverse("post_edit", args=[post.pk]), {"content": "x" * 10_000, "visibility": "public"})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    post.refresh_from_db()
    assert post.content == "short"


def test_others_cannot_edit_or_delete_a_post(client, user, other_user, make_post):
    post = make_post(user, "original")
    hidden = make_post(user, "hidden", visibility="followers")
    client.force_login(other_user)
    assert client.get(reverse("post_edit", args=[post.pk])).status_code == 403
    assert (
        client.post(reverse("post_edit", args=[post.pk]), {"content": "x", "visibility": "public"}).status_code == 403
    )
    assert client.post(reverse("post_delete", args=[post.pk])).status_code == 403
    assert client.post(reverse("post_edit", args=[hidden.pk]), {"content": "x"}).status_code == 404
    assert client.post(reverse("post_delete", args=[hidden.pk])).status_code == 404
    post.refresh_from_db()
    hidden.refresh_from_db()
    assert post.content == "original" and post.deleted_at is None and hidden.deleted_at is None


def test_author_deletes_a_post(client, user, make_post):
    post = make_post(user)
    client.force_login(user)
    assert client.get(reverse("post_delete", args=[post.pk])).status_code == 405
    response = client.post(reverse("post_delete", args=[post.pk]))
    assert response.url == reverse("profile", args=[user.username])
    post.refresh_from_db()
    assert post.deleted_at is not None


def test_edit_and_delete_need_login(client, user, make_post):
    post = make_post(user)
    for name in ("post_edit", "post_delete"):
        assert client.post(reverse(name, args=[post.pk])).url.startswith(reverse("account_login"))
    post.refresh_from_db()
    assert post.deleted_at is None

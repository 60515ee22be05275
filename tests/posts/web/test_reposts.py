"""Likes, comments and shares of a repost act on the original, and a repost shows the original's
counts (a new user's repost held 1 like and 2 comments while the original kept its 6 likes)."""

import pytest
from django.test import Client

from posts import services
from posts.models import Comment, Like, Post
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def original():
    post = services.post_create(author=UserFactory(username="origin"), content="the original")
    for _ in range(6):
        services.like_create(user=UserFactory(), post_id=post.pk)
    return post


@pytest.fixture
def repost(original):
    share, _ = services.share_create(user=UserFactory(username="sharer"), post_id=original.pk)
    return share


def counts(post):
    post.refresh_from_db()
    return post.likes_count, post.comments_count, post.shares_count


def test_api_likes_and_comments_on_a_repost_go_to_the_original(client_for, original, repost):
    fan = client_for(UserFactory())
    body = fan.post(f"/api/v1/posts/{repost.pk}/likes").json()
    assert body["post_id"] == str(original.pk) and body["likes_count"] == 7 and body["liked_by_me"] is True
    response = fan.post(f"/api/v1/posts/{repost.pk}/comments", {"content": "nice"}, format="json")
    assert response.status_code == 201, response.content
    listed = fan.get(f"/api/v1/posts/{repost.pk}/comments").json()["results"]
    assert [row["content"] for row in listed] == ["nice"]
    assert counts(original) == (7, 1, 1) and counts(repost) == (0, 0, 0)
    assert Comment.objects.get().post_id == original.pk
    me = fan.get("/api/v1/users/me").json()["id"]
    assert fan.delete(f"/api/v1/posts/{repost.pk}/likes/{me}").status_code == 204
    assert counts(original)[0] == 6 and not Like.objects.filter(post=repost).exists()


def test_a_quote_keeps_its_own_likes(client_for, original):
    quote, _ = services.share_create(user=UserFactory(), post_id=original.pk, content="my take")
    client_for(UserFactory()).post(f"/api/v1/posts/{quote.pk}/likes")
    assert counts(quote)[0] == 1 and counts(original)[0] == 6


def test_the_feed_shows_a_repost_with_the_originals_counts_and_buttons(original, repost):
    reader = UserFactory()
    from accounts import services as account_services

    account_services.follow_create(follower=reader, followed_user_id=repost.author_id)
    client = Client()
    client.force_login(reader)
    html = client.get("/").content.decode()
    assert 'data-count="likes">6</span>' in html and 'data-count="shares">1</span>' in html
    assert f"/posts/{original.pk}/like/" in html and f"/posts/{repost.pk}/like/" not in html


def test_sharing_from_a_repost_card_shows_the_originals_new_count(original, repost):
    client = Client()
    client.force_login(UserFactory())
    html = client.post(f"/posts/{repost.pk}/share/", **HTMX).content.decode()
    assert "Shared" in html and 'data-count="shares">2</span>' in html  # was "Shared 0"
    assert counts(original)[2] == 2 and Post.objects.filter(shared_post=original).count() == 2


def test_a_reposts_page_is_the_originals(original, repost):
    response = Client().get(f"/posts/{repost.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/posts/{original.pk}/"

"""A deleted (or suspended) account's likes, comments and shares stop counting, in the same
transaction (B's post still showed "Like 1 · 1 comments · Share 1" after A deleted the account)."""

import pytest
from django.test import Client

from accounts import services as account_services
from posts import moderation, services
from posts.models import Comment, Like, Post
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def counts(post):
    post.refresh_from_db()
    return post.likes_count, post.comments_count, post.shares_count


@pytest.fixture
def scene():
    ana, bo, cy = UserFactory(username="ana_d"), UserFactory(username="bo_d"), UserFactory(username="cy_d")
    post = services.post_create(author=bo, content="bo's post")
    services.like_create(user=ana, post_id=post.pk)
    services.like_create(user=cy, post_id=post.pk)
    top = services.comment_create(author=cy, post_id=post.pk, content="first")
    services.comment_create(author=ana, post_id=post.pk, content="a reply", parent_comment_id=top.pk)
    services.comment_create(author=ana, post_id=post.pk, content="ana's own")
    services.share_create(user=ana, post_id=post.pk, content="quoting")
    assert counts(post) == (2, 3, 1)
    top.refresh_from_db()
    assert top.replies_count == 1
    return ana, bo, cy, post, top


def test_deleting_an_account_moves_every_counter_it_touched(scene):
    ana, bo, cy, post, top = scene
    account_services.user_deactivate(user=ana)
    assert counts(post) == (1, 1, 0)
    top.refresh_from_db()
    assert top.replies_count == 0
    assert not Like.objects.filter(user=ana).exists()
    html = Client().get(f"/posts/{post.pk}/").content.decode()
    assert 'data-count="likes">1</span>' in html and 'Comments <span class="muted">(1)</span>' in html
    assert 'data-count="shares">0</span>' in html


def test_suspension_stops_the_counting_and_lifting_it_restores_it(scene, moderator_user):
    ana, bo, cy, post, top = scene
    moderation.suspend_user(moderator=moderator_user, user=ana, reason="spam")
    assert counts(post) == (1, 1, 0)
    moderation.unsuspend_user(moderator=moderator_user, user=ana, reason="appeal granted")
    assert counts(post) == (2, 3, 1)
    assert Like.objects.filter(user=ana).exists() and Comment.objects.filter(author=ana).count() == 2
    assert Post.objects.filter(author=ana).count() == 1

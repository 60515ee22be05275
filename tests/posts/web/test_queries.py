"""Post pages run a bounded number of queries whatever the number of comments or posts."""

import pytest
from django.urls import reverse

from posts import services
from tests.factories import UserFactory
from tests.posts.factories import MediaFactory, busy_posts

pytestmark = pytest.mark.django_db

# +1 on a cold cache: the warning banner (posts.moderation.warnings_to_show, cached per user).
DETAIL_MAX_QUERIES = 15
LIST_MAX_QUERIES = 16


def _conversation(post, n):
    """n top-level comments, each with a reply and a reply to the reply, by different people."""
    for i in range(n):
        top = services.comment_create(author=UserFactory(), post_id=post.pk, content=f"top {i} @{post.author.username}")
        reply = services.comment_create(author=UserFactory(), post_id=post.pk, content="r", parent_comment_id=top.pk)
        deep = services.comment_create(author=post.author, post_id=post.pk, content="d", parent_comment_id=reply.pk)
        services.comment_create(author=UserFactory(), post_id=post.pk, content="deeper", parent_comment_id=deep.pk)


@pytest.mark.parametrize("n", [2, 25])
def test_post_detail_queries(client, user, n, django_assert_max_num_queries):
    post = services.post_create(
        author=user,
        content_type="image",
        content="#busy",
        media_ids=[MediaFactory(owner=user).pk, MediaFactory(owner=user).pk],
        tagged_user_ids=[UserFactory().pk],
    )
    _conversation(post, n)
    viewer = UserFactory()
    services.like_create(user=viewer, post_id=post.pk)
    client.force_login(viewer)
    with django_assert_max_num_queries(DETAIL_MAX_QUERIES):
        response = client.get(reverse("post_detail", args=[post.pk]))
    html = response.content.decode()
    assert html.count('class="comment"') == 3 * n  # three levels shown
    assert html.count("Continue thread") == n
    assert 'data-like-state="liked"' in html


@pytest.fixture
def busy_tag(user):
    return lambda n: busy_posts(user, n)


@pytest.mark.parametrize("n", [3, 20])
def test_hashtag_page_queries(client, busy_tag, n, django_assert_max_num_queries):
    friend = busy_tag(n)
    client.force_login(friend)
    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        response = client.get(reverse("hashtag", args=["busy"]))
    assert response.content.decode().count('class="card post"') == n


@pytest.mark.parametrize("n", [3, 20])
def test_profile_posts_queries(client, user, busy_tag, n, django_assert_max_num_queries):
    busy_tag(n)
    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        response = client.get(reverse("profile", args=[user.username]))
    assert response.content.decode().count('class="card post"') == n

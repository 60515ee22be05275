"""List endpoints run a bounded number of queries whatever the page size."""

import pytest

from accounts import services as accounts_services
from posts import services
from tests.factories import UserFactory
from tests.post_factories import MediaFactory

pytestmark = pytest.mark.django_db

MAX_QUERIES = 11


@pytest.fixture
def busy_author(user):
    """Posts of every shape: images with tags and hashtags, quotes of others' posts, likes."""

    def build(n):
        friend = UserFactory()
        original = services.post_create(
            author=friend, content_type="image", content="#orig", media_ids=[MediaFactory(owner=friend).pk]
        )
        for i in range(n):
            if i % 2:
                services.share_create(user=user, post_id=original.pk, content=f"quote {i} #busy @{friend.username}")
            else:
                services.post_create(
                    author=user,
                    content_type="image",
                    content=f"#busy #n{i} @{friend.username}",
                    media_ids=[MediaFactory(owner=user).pk, MediaFactory(owner=user).pk],
                    tagged_user_ids=[UserFactory().pk],
                )
        return friend

    return build


@pytest.mark.parametrize("n", [3, 30])
def test_user_posts_queries(client_for, user, busy_author, n, django_assert_max_num_queries):
    friend = busy_author(n)
    client = client_for(friend)
    for post in user.posts.all()[:2]:
        services.like_create(user=friend, post_id=post.pk)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(f"/api/v1/users/{user.pk}/posts?limit=50")
    body = response.json()["results"]
    assert len(body) == n
    assert sum(p["liked_by_me"] for p in body) == 2


@pytest.mark.parametrize("n", [3, 30])
def test_hashtag_posts_queries(api, busy_author, n, django_assert_max_num_queries):
    busy_author(n)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = api.get("/api/v1/hashtags/BUSY/posts?limit=50")
    assert len(response.json()["results"]) == n


@pytest.mark.parametrize("n", [3, 30])
def test_comments_queries(client_for, user, n, django_assert_max_num_queries):
    post = services.post_create(author=user, content_type="text", content="talk to me")
    for i in range(n):
        commenter = UserFactory()
        accounts_services.follow_create(follower=commenter, followed_user_id=user.pk)
        services.comment_create(author=commenter, post_id=post.pk, content=f"comment {i} @{user.username}")
    client = client_for(user)
    with django_assert_max_num_queries(4):
        response = client.get(f"/api/v1/posts/{post.pk}/comments?limit=50")
    assert len(response.json()["results"]) == n

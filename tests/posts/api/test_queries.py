"""List endpoints run a bounded number of queries whatever the page size."""

import pytest

from accounts import services as accounts_services
from posts import services
from tests.factories import UserFactory
from tests.posts.factories import busy_posts

pytestmark = pytest.mark.django_db

MAX_QUERIES = 11


@pytest.fixture
def busy_author(user):
    return lambda n: busy_posts(user, n)


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

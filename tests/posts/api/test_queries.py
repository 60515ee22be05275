"""List endpoints run a bounded number of queries whatever the page size."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts import services as accounts_services
from posts import services
from posts.models import Post
from tests.factories import UserFactory
from tests.posts.factories import busy_posts

pytestmark = pytest.mark.django_db

MAX_QUERIES = 11
# The first page of a user's posts also reads their pinned posts: one query, and with pins, their
# four prefetches (hashtags, tags, media, shared posts).
USER_POSTS_MAX_QUERIES = MAX_QUERIES + 1
USER_POSTS_PINNED_MAX_QUERIES = USER_POSTS_MAX_QUERIES + 4


@pytest.fixture
def busy_author(user):
    return lambda n: busy_posts(user, n)


@pytest.mark.parametrize("n", [3, 30])
def test_user_posts_queries(client_for, user, busy_author, n, django_assert_max_num_queries):
    friend = busy_author(n)
    client = client_for(friend)
    for post in user.posts.all()[:2]:
        services.like_create(user=friend, post_id=post.pk)
    with django_assert_max_num_queries(USER_POSTS_MAX_QUERIES):
        response = client.get(f"/api/v1/users/{user.pk}/posts?limit=50")
    body = response.json()["results"]
    assert len(body) == n
    assert sum(p["liked_by_me"] for p in body) == 2


@pytest.mark.parametrize("n", [3, 30])
def test_user_posts_with_pins_queries(client_for, user, busy_author, n, django_assert_max_num_queries):
    friend = busy_author(n)
    originals = user.posts.filter(shared_post__isnull=True).order_by("created_at")[:2]
    for post in originals:
        services.post_pin(user=user, post_id=post.pk)
        services.bookmark_add(user=friend, post_id=post.pk)
    with django_assert_max_num_queries(USER_POSTS_PINNED_MAX_QUERIES):
        response = client_for(friend).get(f"/api/v1/users/{user.pk}/posts?limit=50")
    body = response.json()["results"]
    assert len(body) == n
    assert [p["pinned"] for p in body[:3]] == [True, True, False]
    assert sum(p["bookmarked"] for p in body) == 2


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


# --- One post: created, read ---------------------------------------------------------------------

CREATE_MAX_QUERIES = 6  # the caller, their profile, the post, the fan-out row, the outbox rows: no re-read
TEST_SAVEPOINT = ("SAVEPOINT", "RELEASE SAVEPOINT")  # the service's atomic inside the test's transaction


def test_create_answers_from_what_it_wrote(user_api, django_assert_max_num_queries):
    with django_assert_max_num_queries(CREATE_MAX_QUERIES + len(TEST_SAVEPOINT)) as queries:
        response = user_api.post("/api/v1/posts", {"content": "no mentions, no tags"}, format="json")
    own = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(TEST_SAVEPOINT)]
    assert len(own) <= CREATE_MAX_QUERIES, own
    assert not [sql for sql in own if 'FROM "posts_post"' in sql]  # nothing read back
    assert response.status_code == 201
    assert response.json() == user_api.get(f"/api/v1/posts/{response.json()['id']}").json()


def test_create_answers_the_body_a_read_gives(user_api, user, make_post):
    """Tags, mentions, hashtags and media in the answer are what a fresh read finds."""
    from tests.posts.factories import MediaFactory

    friend, other = UserFactory(), UserFactory()
    body = {
        "content": f"#Zeta #alpha @{friend.username} @{other.username} @nobody",
        "media_ids": [str(MediaFactory(owner=user).pk), str(MediaFactory(owner=user).pk)],
        "tagged_user_ids": [str(other.pk)],
    }
    created = user_api.post("/api/v1/posts", body, format="json").json()
    assert [t["kind"] for t in created["tagged_users"]] == ["photo", "mention"]
    assert created["hashtags"] == ["alpha", "zeta"] and len(created["media"]) == 2
    assert created == user_api.get(f"/api/v1/posts/{created['id']}").json()


def test_read_one_post_from_the_payload_cache(client_for, user, make_post, django_assert_max_num_queries):
    original = make_post(UserFactory(), "the original #tag")
    quote = services.share_create(user=user, post_id=original.pk, content="a quote")[0]
    reader = UserFactory()
    client = client_for(reader)
    services.like_create(user=reader, post_id=original.pk)
    first = client.get(f"/api/v1/posts/{quote.pk}").json()
    with django_assert_max_num_queries(3):  # the caller, the post's row, the original's row
        again = client.get(f"/api/v1/posts/{quote.pk}").json()
    assert again == first and first["shared_post"]["likes_count"] == 1
    # Fresh per viewer and per change: liked_by_me, counters, an edit.
    services.like_create(user=reader, post_id=quote.pk)
    services.post_update(post=quote, editor=user, content="edited quote")
    body = client.get(f"/api/v1/posts/{quote.pk}").json()
    assert body["liked_by_me"] and body["likes_count"] == 1 and body["content"] == "edited quote"
    assert client_for(UserFactory()).get(f"/api/v1/posts/{quote.pk}").json()["liked_by_me"] is False


def test_read_one_post_keeps_visibility(client_for, user, make_post):
    post = make_post(user, "for followers", visibility="followers")
    follower, stranger = UserFactory(), UserFactory()
    accounts_services.follow_create(follower=follower, followed_user_id=user.pk)
    assert client_for(follower).get(f"/api/v1/posts/{post.pk}").status_code == 200  # now cached
    assert client_for(stranger).get(f"/api/v1/posts/{post.pk}").status_code == 404
    services.post_delete(post=post, actor=user)
    assert client_for(follower).get(f"/api/v1/posts/{post.pk}").status_code == 404


@pytest.fixture
def compiles(monkeypatch):
    """How many SQL statements Django compiles (a spy on its compiler; nothing is replaced)."""
    from django.db.models.sql.compiler import SQLCompiler

    calls = []
    as_sql = SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        calls.append(self.query.model)
        return as_sql(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    return calls


def test_read_one_post_compiles_no_statement(client_for, user, make_post, compiles):
    """The post's row comes from a statement compiled once per process (posts.selectors.payload_row):
    compiling it was half the CPU of the read. Each viewer and post still gets its own answer."""
    public, followers = make_post(user, "for all"), make_post(user, "for followers", visibility="followers")
    follower, stranger, blocked = UserFactory(), UserFactory(), UserFactory()
    accounts_services.follow_create(follower=follower, followed_user_id=user.pk)
    accounts_services.block_create(blocker=user, blocked_user_id=blocked.pk)
    clients = {
        name: client_for(who) for name, who in [("follower", follower), ("stranger", stranger), ("blocked", blocked)]
    }
    anonymous = APIClient()
    assert clients["follower"].get(f"/api/v1/posts/{followers.pk}").status_code == 200  # warm: compiled, cached
    assert anonymous.get(f"/api/v1/posts/{public.pk}").status_code == 200
    compiles.clear()
    assert clients["stranger"].get(f"/api/v1/posts/{followers.pk}").status_code == 404
    assert clients["blocked"].get(f"/api/v1/posts/{public.pk}").status_code == 404
    assert anonymous.get(f"/api/v1/posts/{followers.pk}").status_code == 404
    assert clients["stranger"].get(f"/api/v1/posts/{public.pk}").json()["content"] == "for all"
    assert clients["follower"].get(f"/api/v1/posts/{followers.pk}").json()["content"] == "for followers"
    assert anonymous.get(f"/api/v1/posts/{public.pk}").json()["liked_by_me"] is False
    assert [model for model in compiles if model is Post] == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL's")
def test_read_one_post_runs_a_prepared_statement(client_for, user, make_post):
    post = make_post(user, "prepared")
    client = client_for(UserFactory())
    for _ in range(2):
        assert client.get(f"/api/v1/posts/{post.pk}").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ['%"posts_post"%'])
        assert cursor.fetchone()[0] >= 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one statement on PostgreSQL only")
def test_create_makes_and_reads_hashtags_in_one_statement(user_api, make_post, user, django_assert_max_num_queries):
    make_post(user, "#known already")
    with django_assert_max_num_queries(20) as queries:
        response = user_api.post("/api/v1/posts", {"content": "#Known and #fresh"}, format="json")
    assert response.json()["hashtags"] == ["fresh", "known"]
    assert len([q for q in queries.captured_queries if '"posts_hashtag"' in q["sql"]]) == 1

"""REST for bookmarks, pins, content warnings and media descriptions (docs/api.md)."""

import pytest

from posts import services
from posts.models import Bookmark, Post
from tests.factories import BlockFactory, UserFactory
from tests.posts.conftest import post_url
from tests.posts.factories import MediaFactory
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

UNKNOWN = "00000000-0000-7000-8000-000000000000"
BOOKMARKS = "/api/v1/bookmarks"
# The caller, the page (with its annotations), hashtags, tags, media, shared posts and their
# prefetches: the same whatever the page size.
BOOKMARKS_MAX_QUERIES = 11


class TestBookmarks:
    def test_add_replay_list_and_remove(self, user_api, user, other_user, post_by):
        post = post_by(other_user, "worth keeping")
        first = user_api.post(f"{post_url(post)}/bookmark")
        assert first.status_code == 201, first.content
        assert first.json() == {"post_id": str(post.pk), "bookmarked": True}
        assert user_api.post(f"{post_url(post)}/bookmark").status_code == 200  # replayed
        assert Bookmark.objects.count() == 1
        assert user_api.get(post_url(post)).json()["bookmarked"] is True
        [listed] = user_api.get(BOOKMARKS).json()["results"]
        assert listed["id"] == str(post.pk) and listed["bookmarked"] is True
        # Private: nobody else sees it, not even the author.
        author = UserFactory()
        assert services.bookmark_add(user=author, post_id=post.pk)
        assert [p["id"] for p in user_api.get(BOOKMARKS).json()["results"]] == [str(post.pk)]
        assert user_api.delete(f"{post_url(post)}/bookmark").status_code == 204
        assert user_api.delete(f"{post_url(post)}/bookmark").status_code == 204  # idempotent
        assert user_api.get(BOOKMARKS).json() == {"results": [], "next": None, "previous": None}
        assert user_api.get(post_url(post)).json()["bookmarked"] is False

    def test_errors_use_the_envelope(self, api, user_api, user, other_user, post_by):
        post = post_by(other_user)
        assert_error(api.post(f"{post_url(post)}/bookmark"), 401)
        assert_error(api.get(BOOKMARKS), 401)
        assert_error(user_api.post(f"/api/v1/posts/{UNKNOWN}/bookmark"), 404)
        assert_error(user_api.post("/api/v1/posts/not-an-id/bookmark"), 404)
        assert_error(user_api.post(f"{post_url(post_by(other_user, visibility='followers'))}/bookmark"), 404)
        BlockFactory(blocker=other_user, blocked=user)
        assert_error(user_api.post(f"{post_url(post)}/bookmark"), 404)
        assert_error(user_api.get(BOOKMARKS, {"cursor": "garbage"}), 404)

    def test_a_post_gone_out_of_sight_leaves_the_list(self, user_api, user, other_user, post_by, act):
        post = post_by(other_user, "soon hidden")
        user_api.post(f"{post_url(post)}/bookmark")
        act(services.post_delete, post=post, actor=other_user)
        assert user_api.get(BOOKMARKS).json()["results"] == []
        assert user_api.delete(f"{post_url(post)}/bookmark").status_code == 204  # still let go of
        assert not Bookmark.objects.exists()

    @pytest.mark.parametrize("n", [3, 30])
    def test_the_list_runs_a_bounded_number_of_queries(self, user, user_api, n, django_assert_max_num_queries):
        author = UserFactory()
        for i in range(n):
            kwargs = {"media_ids": [MediaFactory(owner=author).pk]} if i % 3 == 0 else {}
            post = services.post_create(author=author, content=f"post {i} #tag @{user.username}", **kwargs)
            services.bookmark_add(user=user, post_id=post.pk)
            if i % 5 == 0:
                share, _ = services.share_create(user=UserFactory(), post_id=post.pk, content="a quote")
                services.bookmark_add(user=user, post_id=share.pk)
        with django_assert_max_num_queries(BOOKMARKS_MAX_QUERIES):
            response = user_api.get(BOOKMARKS, {"limit": 50})
        body = response.json()
        assert len(body["results"]) == Bookmark.objects.filter(user=user).count()
        assert all(p["bookmarked"] for p in body["results"])

    def test_pages_follow_the_bookmark_order(self, user_api, user, post_by):
        posts = [post_by(UserFactory(), f"post {n}") for n in range(5)]
        for post in reversed(posts):  # the oldest post bookmarked last
            services.bookmark_add(user=user, post_id=post.pk)
        first = user_api.get(BOOKMARKS, {"limit": 3}).json()
        second = user_api.get(first["next"]).json()
        ids = [p["content"] for p in first["results"] + second["results"]]
        assert ids == ["post 0", "post 1", "post 2", "post 3", "post 4"] and second["next"] is None


class TestPins:
    def test_pin_marks_and_orders_the_profile(self, user_api, api, user, post_by):
        posts = [post_by(user, f"post {n}") for n in range(4)]
        assert user_api.post(f"{post_url(posts[0])}/pin").status_code == 201
        again = user_api.post(f"{post_url(posts[0])}/pin")
        assert again.status_code == 200 and again.json() == {"post_id": str(posts[0].pk), "pinned": True}
        first = api.get(f"/api/v1/users/{user.pk}/posts", {"limit": 2}).json()
        assert [(p["content"], p["pinned"]) for p in first["results"]] == [
            ("post 0", True),
            ("post 3", False),
            ("post 2", False),
        ]
        rest = api.get(first["next"]).json()["results"]
        assert [p["content"] for p in rest] == ["post 1"]  # the pinned post is not repeated
        assert api.get(post_url(posts[0])).json()["pinned"] is True
        assert user_api.delete(f"{post_url(posts[0])}/pin").status_code == 204
        assert user_api.delete(f"{post_url(posts[0])}/pin").status_code == 204
        assert api.get(post_url(posts[0])).json()["pinned"] is False

    def test_errors_use_the_envelope(self, api, user_api, client_for, user, other_user, post_by):
        posts = [post_by(user, f"post {n}") for n in range(4)]
        assert_error(api.post(f"{post_url(posts[0])}/pin"), 401)
        assert_error(client_for(other_user).post(f"{post_url(posts[0])}/pin"), 403, "not_owner")
        assert_error(client_for(other_user).delete(f"{post_url(posts[0])}/pin"), 403, "not_owner")
        assert_error(user_api.post(f"/api/v1/posts/{UNKNOWN}/pin"), 404)
        assert_error(user_api.post("/api/v1/posts/%20/pin"), 404)
        for post in posts[:3]:
            assert user_api.post(f"{post_url(post)}/pin").status_code == 201
        error = assert_error(user_api.post(f"{post_url(posts[3])}/pin"), 409, "pin_limit_reached")
        assert "3" in error["message"]
        assert Post.objects.filter(pinned_at__isnull=False).count() == 3


class TestContentWarnings:
    def test_create_edit_and_read(self, user_api, user, api):
        response = user_api.post(
            "/api/v1/posts", {"content": "the ending", "spoiler_text": " Film\nspoilers "}, format="json"
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["spoiler_text"] == "Film spoilers"
        url = f"/api/v1/posts/{body['id']}"
        edited = user_api.patch(url, {"content": "the real ending"}, format="json").json()
        assert (edited["content"], edited["spoiler_text"]) == ("the real ending", "Film spoilers")
        assert user_api.patch(url, {"spoiler_text": ""}, format="json").json()["spoiler_text"] == ""
        assert api.get(url).json()["spoiler_text"] == ""

    def test_too_long_is_a_400(self, user_api):
        response = user_api.post("/api/v1/posts", {"content": "x", "spoiler_text": "y" * 201}, format="json")
        assert "spoiler_text" in assert_error(response, 400)["fields"]
        response = user_api.post("/api/v1/posts", {"content": "x", "spoiler_text": ["a list"]}, format="json")
        assert "spoiler_text" in assert_error(response, 400)["fields"]

    def test_the_feed_and_search_show_it(self, client_for, user, other_user, post_by, follow):
        follow(other_user, user)
        post = post_by(user, "cliffhanger season finale", spoiler_text="TV spoilers")
        reader = client_for(other_user)
        [in_feed] = [p for p in reader.get("/api/v1/feed").json()["results"] if p["id"] == str(post.pk)]
        assert in_feed["spoiler_text"] == "TV spoilers" and in_feed["bookmarked"] is False
        services.bookmark_add(user=other_user, post_id=post.pk)
        [in_feed] = [p for p in reader.get("/api/v1/feed").json()["results"] if p["id"] == str(post.pk)]
        assert in_feed["bookmarked"] is True
        [found] = reader.get("/api/v1/search", {"query": "cliffhanger"}).json()["results"]
        assert found["spoiler_text"] == "TV spoilers" and found["bookmarked"] is True


def test_media_carry_their_description(user_api, user, api):
    described = MediaFactory(owner=user, alt_text="A red kite over a hill")
    bare = MediaFactory(owner=user)
    body = {"content": "two photos", "media_ids": [str(described.pk), str(bare.pk)]}
    created = user_api.post("/api/v1/posts", body, format="json").json()
    media = api.get(f"/api/v1/posts/{created['id']}").json()["media"]
    assert [(m["description"], m["alt_text"]) for m in media] == [
        ("A red kite over a hill", "A red kite over a hill"),
        ("", ""),
    ]

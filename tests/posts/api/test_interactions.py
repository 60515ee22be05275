import pytest

from posts import services
from posts.models import Comment, Like, Post
from tests.factories import BlockFactory, UserFactory
from tests.posts.conftest import post_url
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

UNKNOWN = "00000000-0000-7000-8000-000000000000"


def counts(post):
    post.refresh_from_db()
    return post.likes_count, post.comments_count, post.shares_count


class TestLikes:
    def test_like_is_idempotent_and_counted_once(self, user_api, user, other_user, make_post):
        post = make_post(other_user)
        first = user_api.post(f"{post_url(post)}/likes")
        assert first.status_code == 201, first.content
        assert first.json() == {
            "post_id": str(post.pk),
            "user_id": str(user.pk),
            "likes_count": 1,
            "liked_by_me": True,
        }
        assert user_api.post(f"{post_url(post)}/likes").status_code == 200
        assert counts(post) == (1, 0, 0)
        assert user_api.get(post_url(post)).json()["liked_by_me"] is True

    def test_unlike_is_idempotent(self, user_api, user, other_user, make_post):
        post = make_post(other_user)
        user_api.post(f"{post_url(post)}/likes")
        assert user_api.delete(f"{post_url(post)}/likes/{user.pk}").status_code == 204
        assert user_api.delete(f"{post_url(post)}/likes/me").status_code == 204
        assert counts(post) == (0, 0, 0) and not Like.objects.exists()
        assert user_api.get(post_url(post)).json()["liked_by_me"] is False

    def test_many_likers(self, client_for, user, make_post):
        post = make_post(user)
        for fan in UserFactory.create_batch(3):
            assert client_for(fan).post(f"{post_url(post)}/likes").status_code == 201
        assert counts(post) == (3, 0, 0)

    def test_unlike_in_someone_elses_name_is_403(self, client_for, user, other_user, make_post):
        post = make_post(user)
        client_for(other_user).post(f"{post_url(post)}/likes")
        response = client_for(user).delete(f"{post_url(post)}/likes/{other_user.pk}")
        assert_error(response, 403, "not_owner")
        assert counts(post) == (1, 0, 0)

    def test_liking_a_post_you_cannot_see_is_404(self, user_api, user, other_user, make_post):
        hidden = make_post(other_user, visibility="followers")
        assert_error(user_api.post(f"{post_url(hidden)}/likes"), 404)
        blocked = make_post(other_user)
        BlockFactory(blocker=other_user, blocked=user)
        assert_error(user_api.post(f"{post_url(blocked)}/likes"), 404)
        assert_error(user_api.post(f"/api/v1/posts/{UNKNOWN}/likes"), 404)
        assert_error(user_api.post("/api/v1/posts/nope/likes"), 404)
        assert not Like.objects.exists() and counts(hidden) == (0, 0, 0)

    def test_anonymous_is_401(self, api, user, make_post):
        post = make_post(user)
        assert_error(api.post(f"{post_url(post)}/likes"), 401)
        assert_error(api.delete(f"{post_url(post)}/likes/{user.pk}"), 401)


class TestComments:
    def comment(self, client, post, content, parent=None):
        body = {"content": content}
        if parent:
            body["parent_comment_id"] = parent
        return client.post(f"{post_url(post)}/comments", body, format="json")

    def test_threaded_replies_to_depth_three(self, client_for, user, other_user, make_post):
        post = make_post(user)
        friend = client_for(other_user)
        me = client_for(user)
        top = self.comment(friend, post, "nice <b>pic</b>")
        assert top.status_code == 201, top.content
        top = top.json()
        assert top["parent_comment_id"] is None and top["author"]["id"] == str(other_user.pk)
        assert "<b>" not in top["content_html"] and top["content"] == "nice <b>pic</b>"
        reply = self.comment(me, post, "thanks", top["id"]).json()
        assert reply["parent_comment_id"] == top["id"]
        deeper = self.comment(friend, post, "welcome", reply["id"]).json()
        deepest = self.comment(me, post, "🙂", deeper["id"]).json()
        assert deepest["parent_comment_id"] == deeper["id"]
        assert counts(post)[1] == 4
        assert Comment.objects.get(pk=top["id"]).replies_count == 1

        listed = friend.get(f"{post_url(post)}/comments").json()
        assert [c["id"] for c in listed["results"]] == [top["id"]]
        assert listed["results"][0]["replies_count"] == 1
        replies = friend.get(f"{post_url(post)}/comments?parent_comment_id={reply['id']}").json()
        assert [c["id"] for c in replies["results"]] == [deeper["id"]]

    def test_comments_oldest_first_and_anonymous_reads(self, api, user_api, user, make_post):
        post = make_post(user)
        ids = [self.comment(user_api, post, f"c{i}").json()["id"] for i in range(3)]
        assert [c["id"] for c in api.get(f"{post_url(post)}/comments").json()["results"]] == ids

    def test_parent_on_another_post_is_400(self, user_api, user, make_post):
        post, other = make_post(user), make_post(user)
        foreign = self.comment(user_api, other, "there").json()
        response = self.comment(user_api, post, "here", foreign["id"])
        assert_error(response, 400, "parent_mismatch")
        assert counts(post)[1] == 0 and Comment.objects.count() == 1

    def test_bad_comments(self, user_api, user, make_post):
        post = make_post(user)
        assert_error(self.comment(user_api, post, "x" * 10_000), 400)
        assert_error(self.comment(user_api, post, "   "), 400)
        assert_error(self.comment(user_api, post, "x", "nope"), 400)
        assert_error(self.comment(user_api, post, "x", UNKNOWN), 404)
        assert_error(user_api.post("/api/v1/posts/nope/comments", {"content": "x"}, format="json"), 404)
        assert_error(user_api.get(f"{post_url(post)}/comments?parent_comment_id=nope"), 404)
        assert not Comment.objects.exists() and counts(post)[1] == 0

    def test_reply_to_deleted_comment_is_404(self, user_api, user, make_post):
        post = make_post(user)
        top = self.comment(user_api, post, "gone").json()
        assert user_api.delete(f"{post_url(post)}/comments/{top['id']}").status_code == 204
        assert_error(self.comment(user_api, post, "late", top["id"]), 404)

    def test_cannot_comment_on_hidden_post(self, client_for, user, other_user, make_post):
        post = make_post(other_user, visibility="followers")
        assert_error(self.comment(client_for(user), post, "hi"), 404)
        assert_error(client_for(user).get(f"{post_url(post)}/comments"), 404)
        BlockFactory(blocker=other_user, blocked=user)
        assert_error(self.comment(client_for(user), make_post(other_user), "hi"), 404)
        assert not Comment.objects.exists()

    def test_edit_own_comment_only(self, client_for, user, other_user, make_post):
        post = make_post(user)
        comment = self.comment(client_for(other_user), post, "first").json()
        url = f"{post_url(post)}/comments/{comment['id']}"
        edited = client_for(other_user).patch(url, {"content": "second #tag"}, format="json")
        assert edited.status_code == 200 and edited.json()["edited"] is True
        assert 'href="/tags/tag/"' in edited.json()["content_html"]
        assert_error(client_for(user).patch(url, {"content": "mine now"}, format="json"), 403, "not_owner")
        assert_error(client_for(other_user).patch(url, {"content": "x" * 10_000}, format="json"), 400)
        assert Comment.objects.get().content == "second #tag"

    def test_delete_by_comment_author_or_post_author(self, client_for, user, other_user, make_post):
        post = make_post(user)
        third = UserFactory()
        a = self.comment(client_for(other_user), post, "a").json()
        b = self.comment(client_for(other_user), post, "b", a["id"]).json()
        assert_error(client_for(third).delete(f"{post_url(post)}/comments/{a['id']}"), 403, "not_owner")
        assert counts(post)[1] == 2
        assert client_for(other_user).delete(f"{post_url(post)}/comments/{b['id']}").status_code == 204
        assert Comment.objects.get(pk=a["id"]).replies_count == 0
        assert client_for(user).delete(f"{post_url(post)}/comments/{a['id']}").status_code == 204
        assert counts(post)[1] == 0
        assert client_for(user).get(f"{post_url(post)}/comments").json()["results"] == []
        assert_error(client_for(user).delete(f"{post_url(post)}/comments/{a['id']}"), 404)

    def test_comment_paths_check_the_post(self, user_api, user, make_post):
        post, other = make_post(user), make_post(user)
        comment = self.comment(user_api, post, "a").json()
        assert_error(user_api.delete(f"{post_url(other)}/comments/{comment['id']}"), 404)
        assert_error(user_api.patch(f"{post_url(post)}/comments/nope", {"content": "x"}, format="json"), 404)
        assert counts(post)[1] == 1

    def test_blocked_commenters_vanish(self, client_for, user, other_user, make_post):
        post = make_post(user)
        self.comment(client_for(other_user), post, "hello")
        viewer = UserFactory()
        BlockFactory(blocker=viewer, blocked=other_user)
        assert client_for(viewer).get(f"{post_url(post)}/comments").json()["results"] == []

    def test_anonymous_is_401(self, api, user, make_post):
        post = make_post(user)
        assert_error(self.comment(api, post, "hi"), 401)


class TestShares:
    def share(self, client, post, content=None):
        body = {} if content is None else {"content": content}
        return client.post(f"{post_url(post)}/shares", body, format="json")

    def test_repost_is_idempotent(self, client_for, user, other_user, make_post):
        post = make_post(user)
        first = self.share(client_for(other_user), post)
        assert first.status_code == 201, first.content
        body = first.json()
        assert body["shared_post"]["id"] == str(post.pk) and body["content"] == ""
        again = self.share(client_for(other_user), post)
        assert again.status_code == 200 and again.json()["id"] == body["id"]
        assert counts(post)[2] == 1

    def test_quotes_count_and_delete_gives_back(self, client_for, user, other_user, make_post):
        post = make_post(user)
        third = UserFactory()
        quote = self.share(client_for(other_user), post, "so true #wow").json()
        assert quote["hashtags"] == ["wow"] and quote["shared_post"]["id"] == str(post.pk)
        self.share(client_for(other_user), post, "again")
        self.share(client_for(third), post)
        assert counts(post)[2] == 3
        assert client_for(other_user).delete(f"/api/v1/posts/{quote['id']}").status_code == 204
        assert counts(post)[2] == 2

    def test_repost_of_a_repost_shares_the_original(self, client_for, user, other_user, make_post):
        post = make_post(user)
        repost = services.share_create(user=other_user, post_id=post.pk)[0]
        body = self.share(client_for(UserFactory()), repost).json()
        assert body["shared_post"]["id"] == str(post.pk)
        assert counts(post)[2] == 2

    def test_only_visible_public_posts(self, client_for, user, other_user, make_post):
        followers_only = make_post(user, visibility="followers")
        follow = client_for(other_user).post(
            f"/api/v1/users/{other_user.pk}/follows", {"followed_user_id": str(user.pk)}, format="json"
        )
        assert follow.status_code == 201
        assert_error(self.share(client_for(other_user), followers_only), 403, "not_shareable")
        assert_error(self.share(client_for(UserFactory()), followers_only), 404)
        assert_error(self.share(client_for(other_user), followers_only, "x" * 10_000), 400)
        assert_error(client_for(other_user).post("/api/v1/posts/nope/shares", {}, format="json"), 404)
        assert counts(followers_only)[2] == 0
        assert Post.objects.count() == 1

    def test_deleted_original_shows_null(self, client_for, user, other_user, make_post):
        post = make_post(user)
        share = self.share(client_for(other_user), post, "look").json()
        client_for(user).delete(post_url(post))
        assert client_for(other_user).get(f"/api/v1/posts/{share['id']}").json()["shared_post"] is None

    def test_anonymous_is_401(self, api, user, make_post):
        assert_error(self.share(api, make_post(user)), 401)


class TestHashtags:
    def test_case_and_width_insensitive(self, api, user, make_post):
        a = make_post(user, content="#Django rocks")
        b = make_post(user, content="#DJANGO again")
        c = make_post(user, content="#ｄｊａｎｇｏ wide")
        make_post(user, content="#flask")
        for name in ("django", "Django", "DJANGO"):
            body = api.get(f"/api/v1/hashtags/{name}/posts").json()
            assert [p["id"] for p in body["results"]] == [str(c.pk), str(b.pk), str(a.pk)], name
        assert api.get("/api/v1/hashtags/caf%C3%A9/posts").json()["results"] == []

    def test_respects_visibility(self, client_for, user, other_user, make_post):
        make_post(user, content="#secret", visibility="followers")
        assert client_for(other_user).get("/api/v1/hashtags/secret/posts").json()["results"] == []
        assert len(client_for(user).get("/api/v1/hashtags/secret/posts").json()["results"]) == 1

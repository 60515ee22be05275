import pytest
from django.utils import timezone

from media.models import Media
from posts import services
from posts.models import Post, PostTag
from tests.factories import BlockFactory, UserFactory
from tests.posts.conftest import post_url
from tests.posts.factories import MediaFactory
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

UNKNOWN = "00000000-0000-7000-8000-000000000000"
POST_FIELDS = {
    "id",
    "author",
    "content",
    "content_html",
    "content_type",
    "visibility",
    "status",
    "media_urls",
    "media",
    "hashtags",
    "tagged_users",
    "link_url",
    "link_preview",
    "likes_count",
    "comments_count",
    "shares_count",
    "liked_by_me",
    "bookmarked",
    "pinned",
    "spoiler_text",
    "shared_post",
    "created_at",
    "updated_at",
    "edited",
}


def create(client, **body):
    return client.post("/api/v1/posts", body, format="json")


class TestCreate:
    def test_text_post_with_hashtag_and_mention(self, user_api, user, other_user):
        response = create(user_api, content_type="text", content=f"Hi @{other_user.username.upper()} #Django")
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == POST_FIELDS
        assert body["author"]["id"] == str(user.pk) and body["author"]["username"] == user.username
        assert body["status"] == "published" and body["visibility"] == "public"
        assert body["hashtags"] == ["django"]
        assert body["tagged_users"][0]["id"] == str(other_user.pk)
        assert body["tagged_users"][0]["kind"] == "mention"
        assert f'href="/u/{other_user.username}/"' in body["content_html"]
        assert body["liked_by_me"] is False and body["shared_post"] is None and body["edited"] is False
        assert isinstance(body["id"], str)

    def test_image_post_with_filter_and_photo_tags(self, user_api, user, other_user):
        media = [MediaFactory(owner=user, filter="sepia") for _ in range(3)]  # already filtered: published at once
        response = create(
            user_api,
            content_type="image",
            content="three photos",
            media_ids=[str(m.pk) for m in reversed(media)],
            filter="sepia",
            tagged_user_ids=[str(other_user.pk)],
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert [m["id"] for m in body["media"]] == [str(m.pk) for m in reversed(media)]
        assert len(body["media_urls"]) == 3 and body["media_urls"][0].startswith("http://testserver/")
        assert set(body["media"][0]["variants"]) == {"original", "thumbnail"}
        assert body["tagged_users"] == [{**body["tagged_users"][0], "id": str(other_user.pk), "kind": "photo"}]
        assert set(Media.objects.values_list("filter", flat=True)) == {"sepia"}

    def test_content_type_is_text_by_default_or_what_the_media_are(self, user_api, user):
        """A new user's plain post failed without "content_type": "text"."""
        response = create(user_api, content="just words")
        assert response.status_code == 201, response.content
        assert response.json()["content_type"] == "text"
        photos = [MediaFactory(owner=user) for _ in range(2)]
        response = create(user_api, media_ids=[str(m.pk) for m in photos])
        assert response.status_code == 201 and response.json()["content_type"] == "image", response.content
        clip = MediaFactory(owner=user, kind="video")
        response = create(user_api, content="a clip", media_ids=[str(clip.pk)])
        assert response.status_code == 201 and response.json()["content_type"] == "video", response.content
        assert_error(create(user_api), 400)  # nothing at all is still nothing
        mixed = [MediaFactory(owner=user), MediaFactory(owner=user, kind="video")]
        assert "media_ids" in assert_error(create(user_api, media_ids=[str(m.pk) for m in mixed]), 400)["fields"]

    def test_media_still_processing_makes_a_pending_post(self, client_for, user_api, user, other_user):
        media = MediaFactory(owner=user, status=Media.Status.PROCESSING)
        body = create(user_api, content_type="image", media_ids=[str(media.pk)]).json()
        assert body["status"] == "pending_media" and body["media_urls"] == []
        assert body["media"][0]["variants"] == {}
        post_id = body["id"]
        assert user_api.get(f"/api/v1/posts/{post_id}").status_code == 200
        assert_error(client_for(other_user).get(f"/api/v1/posts/{post_id}"), 404)
        assert client_for(other_user).get(f"/api/v1/users/{user.pk}/posts").json()["results"] == []

        Media.objects.filter(pk=media.pk).update(
            status=Media.Status.READY, variants={"original": {"path": "media/x.jpg"}}
        )
        services.post_media_settled(post_id=post_id)
        assert client_for(other_user).get(f"/api/v1/posts/{post_id}").json()["status"] == "published"
        assert len(client_for(other_user).get(f"/api/v1/users/{user.pk}/posts").json()["results"]) == 1

    def test_failed_media_leave_an_error_for_the_author(self, client_for, user_api, user, other_user):
        media = MediaFactory(owner=user, status=Media.Status.PROCESSING)
        post_id = create(user_api, content_type="image", media_ids=[str(media.pk)]).json()["id"]
        Media.objects.filter(pk=media.pk).update(status=Media.Status.FAILED, error="Not an image.")
        services.post_media_settled(post_id=post_id)
        body = user_api.get(f"/api/v1/posts/{post_id}").json()
        assert body["status"] == "failed" and body["media"][0]["error"] == "Not an image."
        assert_error(client_for(other_user).get(f"/api/v1/posts/{post_id}"), 404)

    def test_link_post_keeps_its_first_url(self, user_api):
        body = create(user_api, content_type="link", content="read https://example.com/a and https://b.test").json()
        assert body["link_url"] == "https://example.com/a"
        assert 'rel="nofollow noopener ugc"' in body["content_html"]
        assert body["link_preview"] is None  # until the worker has fetched it

    def test_link_preview_card_once_fetched(self, user_api):
        post_id = create(user_api, content_type="link", content="https://example.com/a").json()["id"]
        # As the fetch task writes it: updated_at moves, so the cached payload is replaced.
        Post.objects.filter(pk=post_id).update(
            link_preview={"url": "https://example.com/a", "title": "A page", "description": "About <b>it</b>"},
            updated_at=timezone.now(),
        )
        card = user_api.get(f"/api/v1/posts/{post_id}").json()["link_preview"]
        assert card == {
            "url": "https://example.com/a",
            "title": "A page",
            "description": "About <b>it</b>",  # plain text; clients escape it
            "site_name": "",
            "image": "",
        }
        Post.objects.filter(pk=post_id).update(
            link_preview={"url": "https://example.com/a", "error": "timeout"}, updated_at=timezone.now()
        )
        assert user_api.get(f"/api/v1/posts/{post_id}").json()["link_preview"] is None

    def test_script_and_html_are_escaped(self, user_api):
        body = create(user_api, content_type="text", content='<script>alert(1)</script>"><img onerror=x>').json()
        assert body["content"] == '<script>alert(1)</script>"><img onerror=x>'
        assert "<script" not in body["content_html"] and "<img" not in body["content_html"]

    @pytest.mark.parametrize(
        "body, field",
        [
            ({"content_type": "text", "content": "x" * 10_000}, "content"),
            ({"content_type": "text", "content": "x" * 2201}, "content"),
            ({"content_type": "text", "content": "   "}, "content"),
            ({"content_type": "poem", "content": "x"}, "content_type"),
            ({"content_type": "text", "content": "x", "visibility": "everyone"}, "visibility"),
            ({"content_type": "image", "content": "x", "filter": "neon"}, "filter"),
            ({"content_type": "image", "content": "no media"}, "media_ids"),
            ({"content_type": "link", "content": "no link here"}, "content"),
            ({"content_type": "text", "content": "x", "media_ids": ["nope"]}, "media_ids"),
            ({"content_type": "text", "content": "x", "tagged_user_ids": ["nope"]}, "tagged_user_ids"),
        ],
    )
    def test_bad_input_is_400_and_nothing_is_created(self, user_api, body, field):
        error = assert_error(create(user_api, **body), 400)
        assert field in error["fields"]
        assert not Post.objects.exists()

    def test_media_rules(self, user_api, user, other_user):
        mine = MediaFactory(owner=user)
        theirs = MediaFactory(owner=other_user)
        failed = MediaFactory(owner=user, status=Media.Status.FAILED, error="Not an image.")
        video = MediaFactory(owner=user, kind=Media.Kind.VIDEO)
        cases = [
            {"content_type": "image", "media_ids": [str(theirs.pk)]},
            {"content_type": "image", "media_ids": [str(failed.pk)]},
            {"content_type": "image", "media_ids": [str(video.pk)]},
            {"content_type": "video", "media_ids": [str(mine.pk)]},
            {"content_type": "video", "media_ids": [str(video.pk), str(video.pk)]},
            {"content_type": "text", "content": "x", "media_ids": [str(mine.pk)]},
            {"content_type": "image", "media_ids": [str(MediaFactory(owner=user).pk) for _ in range(11)]},
        ]
        for body in cases:
            assert "media_ids" in assert_error(create(user_api, **body), 400)["fields"], body
        assert not Post.objects.exists()
        assert create(user_api, content_type="image", media_ids=[str(mine.pk)]).status_code == 201
        again = create(user_api, content_type="image", media_ids=[str(mine.pk)])
        assert assert_error(again, 400)["fields"]["media_ids"] == ["Already attached."]
        assert create(user_api, content_type="video", media_ids=[str(video.pk)]).json()["status"] == "published"

    def test_tagging_someone_who_blocked_you_is_403(self, user_api, user, other_user):
        BlockFactory(blocker=other_user, blocked=user)
        response = create(user_api, content_type="text", content="hi", tagged_user_ids=[str(other_user.pk)])
        assert_error(response, 403, "tag_blocked")
        assert_error(create(user_api, content_type="text", content=f"hi @{other_user.username}"), 403, "tag_blocked")
        assert not Post.objects.exists() and not PostTag.objects.exists()

    def test_tagging_unknown_or_deactivated_users_is_404(self, user_api):
        gone = UserFactory(is_active=False)
        for user_id in (UNKNOWN, str(gone.pk)):
            response = create(user_api, content_type="text", content="hi", tagged_user_ids=[user_id])
            assert_error(response, 404, "not_found")
        assert not Post.objects.exists()

    def test_unknown_mentions_stay_text(self, user_api):
        body = create(user_api, content_type="text", content="hi @nobody_here").json()
        assert body["content_html"] == "hi @nobody_here" and body["tagged_users"] == []

    def test_anonymous_is_401(self, api):
        assert_error(create(api, content_type="text", content="hi"), 401)
        assert not Post.objects.exists()


class TestDetail:
    def test_anonymous_reads_a_public_post(self, api, user, make_post):
        post = make_post(user)
        body = api.get(post_url(post)).json()
        assert body["id"] == str(post.pk) and body["liked_by_me"] is False

    @pytest.mark.parametrize("post_id", ["nope", "123", UNKNOWN, "0" * 40])
    def test_malformed_and_unknown_ids_are_404(self, user_api, post_id):
        assert_error(user_api.get(f"/api/v1/posts/{post_id}"), 404)
        assert_error(user_api.patch(f"/api/v1/posts/{post_id}", {"content": "x"}, format="json"), 404)
        assert_error(user_api.delete(f"/api/v1/posts/{post_id}"), 404)

    def test_author_edits(self, user_api, user, other_user, make_post):
        post = make_post(user, content="old #One")
        response = user_api.patch(post_url(post), {"content": f"new #Two @{other_user.username}"}, format="json")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["edited"] is True and body["hashtags"] == ["two"] and body["visibility"] == "public"
        assert [t["id"] for t in body["tagged_users"]] == [str(other_user.pk)]
        body = user_api.put(post_url(post), {"content": "plain", "visibility": "followers"}, format="json").json()
        assert body["tagged_users"] == [] and body["hashtags"] == [] and body["visibility"] == "followers"
        body = user_api.patch(post_url(post), {"visibility": "mentioned"}, format="json").json()
        assert body["content"] == "plain" and body["visibility"] == "mentioned"

    def test_edit_or_delete_in_someone_elses_name_is_403(self, client_for, user, other_user, make_post):
        post = make_post(user, content="mine")
        client = client_for(other_user)
        assert_error(client.patch(post_url(post), {"content": "hacked"}, format="json"), 403, "not_owner")
        assert_error(client.put(post_url(post), {"content": "hacked"}, format="json"), 403, "not_owner")
        assert_error(client.delete(post_url(post)), 403, "not_owner")
        post.refresh_from_db()
        assert post.content == "mine" and post.deleted_at is None and not post.edited

    def test_bad_edits_change_nothing(self, user_api, user, make_post):
        post = make_post(user, content="mine")
        assert_error(user_api.patch(post_url(post), {"content": "x" * 10_000}, format="json"), 400)
        assert_error(user_api.patch(post_url(post), {"content": ""}, format="json"), 400)
        assert_error(user_api.patch(post_url(post), {"visibility": "world"}, format="json"), 400)
        assert_error(user_api.put(post_url(post), {}, format="json"), 400)
        post.refresh_from_db()
        assert post.content == "mine" and not post.edited

    def test_writes_need_a_token(self, api, user, make_post):
        post = make_post(user)
        assert_error(api.patch(post_url(post), {"content": "x"}, format="json"), 401)
        assert_error(api.delete(post_url(post)), 401)

    def test_delete_is_soft_and_then_404(self, user_api, api, user, make_post):
        post = make_post(user)
        assert user_api.delete(post_url(post)).status_code == 204
        post.refresh_from_db()
        assert post.deleted_at is not None
        assert_error(user_api.get(post_url(post)), 404)
        assert_error(api.get(post_url(post)), 404)
        assert_error(user_api.delete(post_url(post)), 404)


class TestUserPosts:
    def test_lists_newest_first_with_me(self, user_api, api, user, make_post):
        posts = [make_post(user, content=f"n{i}") for i in range(3)]
        body = user_api.get("/api/v1/users/me/posts").json()
        assert set(body) == {"results", "next", "previous"}
        assert [p["id"] for p in body["results"]] == [str(p.pk) for p in reversed(posts)]
        assert len(api.get(f"/api/v1/users/{user.pk}/posts").json()["results"]) == 3

    def test_cursor_pages(self, api, user, make_post):
        posts = [make_post(user, content=f"n{i}") for i in range(5)]
        seen, url = [], f"/api/v1/users/{user.pk}/posts?limit=2"
        while url:
            body = api.get(url).json()
            seen += [p["id"] for p in body["results"]]
            url = body["next"]
        assert seen == [str(p.pk) for p in reversed(posts)]

    def test_unknown_or_blocked_user_is_404(self, user_api, user, other_user):
        assert_error(user_api.get(f"/api/v1/users/{UNKNOWN}/posts"), 404)
        assert_error(user_api.get("/api/v1/users/nope/posts"), 404)
        BlockFactory(blocker=other_user, blocked=user)
        assert_error(user_api.get(f"/api/v1/users/{other_user.pk}/posts"), 404)

"""The issue's "done when" flow over REST, in one go, as a mobile client would run it.

Real Pillow and ffmpeg; Celery tasks run in-process after each commit (the e2e suite runs the
same tasks in a real worker).
"""

import pytest

from media.models import Media
from tests.factories import UserFactory
from tests.media.conftest import post_file
from tests.media.services.test_post_filter import is_sepia, photo

pytestmark = pytest.mark.django_db


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def test_photos_comments_share_and_video_over_rest(
    client_for, django_capture_on_commit_callbacks, clip, django_assert_max_num_queries
):
    me, friend, third = UserFactory(username="ana"), UserFactory(username="bo"), UserFactory(username="cy")
    mine, friends, thirds = client_for(me), client_for(friend), client_for(third)
    ok(friends.post(f"/api/v1/users/{friend.pk}/follows", {"followed_user_id": str(me.pk)}, format="json"), 201)

    # Three photos uploaded with the sepia filter, then one post with caption, hashtag and a tagged friend.
    media_ids = []
    for i in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            upload = post_file(mine, photo(), f"photo{i}.jpg", filter="sepia", alt_text=f"view {i}")
        assert upload.status_code == 202, upload.content
        media_ids.append(upload.json()["id"])
    with django_capture_on_commit_callbacks(execute=True):
        created = mine.post(
            "/api/v1/posts",
            {
                "content_type": "image",
                "content": "Sunset at the harbour #GoldenHour with @bo",
                "media_ids": media_ids,
                "filter": "sepia",
                "tagged_user_ids": [str(friend.pk)],
            },
            format="json",
        )
    post = ok(created, 201)
    post = ok(mine.get(f"/api/v1/posts/{post['id']}"))
    assert [m["id"] for m in post["media"]] == media_ids
    assert [m["alt_text"] for m in post["media"]] == ["view 0", "view 1", "view 2"]
    assert all(m["status"] == "ready" and m["blurhash"] and m["variants"] for m in post["media"])
    assert len(post["media_urls"]) == 3
    for media in Media.objects.filter(pk__in=media_ids):
        assert media.filter == "sepia" and is_sepia(media.variants["original"]["path"])
    assert post["hashtags"] == ["goldenhour"]
    assert [(u["id"], u["kind"]) for u in post["tagged_users"]] == [(str(friend.pk), "photo")]
    assert '<a href="/tags/goldenhour/"' in post["content_html"]
    assert "/u/bo/" in post["content_html"]

    # The friend comments; I reply in the thread.
    comments_url = f"/api/v1/posts/{post['id']}/comments"
    comment = ok(friends.post(comments_url, {"content": "Gorgeous light!"}, format="json"), 201)
    reply = ok(mine.post(comments_url, {"content": "Thanks!", "parent_comment_id": comment["id"]}, format="json"), 201)
    assert reply["parent_comment_id"] == comment["id"]
    assert [c["id"] for c in ok(thirds.get(comments_url))["results"]] == [comment["id"]]
    replies = ok(thirds.get(f"{comments_url}?parent_comment_id={comment['id']}"))["results"]
    assert [(c["id"], c["author"]["username"]) for c in replies] == [(reply["id"], "ana")]

    # A third user likes it and shares it with a quote.
    ok(thirds.post(f"/api/v1/posts/{post['id']}/likes"), 201)
    share = ok(thirds.post(f"/api/v1/posts/{post['id']}/shares", {"content": "Look at this"}, format="json"), 201)
    assert share["shared_post"]["id"] == post["id"]
    seen = ok(thirds.get(f"/api/v1/posts/{post['id']}"))
    assert (seen["likes_count"], seen["comments_count"], seen["shares_count"], seen["liked_by_me"]) == (1, 2, 1, True)

    # My profile and the hashtag list show it, in a bounded number of queries.
    with django_assert_max_num_queries(11):
        profile = ok(thirds.get(f"/api/v1/users/{me.pk}/posts"))["results"]
    assert [p["id"] for p in profile] == [post["id"]]
    tagged = ok(thirds.get("/api/v1/hashtags/GOLDENHOUR/posts"))["results"]
    assert [p["id"] for p in tagged] == [post["id"]]
    assert [p["id"] for p in ok(thirds.get(f"/api/v1/users/{third.pk}/posts"))["results"]] == [share["id"]]

    # A video post: transcoded, with a poster frame and a duration.
    with django_capture_on_commit_callbacks(execute=True):
        video = post_file(mine, clip(seconds=2), "clip.mp4")
    assert video.status_code == 202, video.content
    with django_capture_on_commit_callbacks(execute=True):
        created = mine.post(
            "/api/v1/posts",
            {"content_type": "video", "content": "Waves", "media_ids": [video.json()["id"]]},
            format="json",
        )
    video_post = ok(mine.get(f"/api/v1/posts/{ok(created, 201)['id']}"))
    (media,) = video_post["media"]
    assert media["kind"] == "video" and media["status"] == "ready"
    assert 1.5 <= media["duration"] <= 2.5
    assert {"video", "poster"} <= set(media["variants"])
    assert video_post["media_urls"] == [media["variants"]["video"]] and media["variants"]["video"].split("?")[
        0
    ].endswith(".mp4")
    assert [p["id"] for p in ok(thirds.get(f"/api/v1/users/{me.pk}/posts"))["results"]] == [
        video_post["id"],
        post["id"],
    ]

"""Compose, post detail, hashtag and profile pages: who sees what."""

import re

import pytest
from django.urls import reverse

from accounts import services as account_services
from media.models import Media
from posts.models import Post, PostTag
from tests.factories import UserFactory
from tests.posts.factories import MediaFactory

pytestmark = pytest.mark.django_db


def detail(post):
    return reverse("post_detail", args=[post.pk])


# --- Compose ------------------------------------------------------------------------------------------


def test_compose_requires_login(client):
    response = client.get(reverse("post_create"))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    assert client.post(reverse("post_create"), {"content": "hi"}).status_code == 302
    assert not Post.objects.exists()


def test_compose_page_renders_the_form(client, user):
    client.force_login(user)
    html = client.get(reverse("post_create")).content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label for="id_content">Text or caption</label>' in html
    assert "data-compose-files" in html and 'data-media-url="/api/v1/media"' in html
    for name in ("grayscale", "sepia", "vivid", "cool", "warm", "fade"):
        assert f'value="{name}"' in html and f"filter-{name}" in html
    assert 'type="radio" name="filter" value="" id="id_filter_0" checked' in html
    assert '<label for="id_tagged">Tag people</label>' in html
    assert '<label for="id_visibility">Who can see it</label>' in html
    assert "js/compose.js" in html and "css/posts.css" in html


def test_compose_text_post_with_hashtag_and_tag(client, user):
    friend = UserFactory(username="grace")
    client.force_login(user)

    response = client.post(
        reverse("post_create"),
        {"content": "Hello #World", "visibility": "followers", "tagged": "@Grace, ", "filter": ""},
    )

    post = Post.objects.get(author=user)
    assert response.status_code == 302 and response.url == detail(post)
    assert post.content_type == "text" and post.visibility == "followers"
    assert list(post.hashtags.values_list("name", flat=True)) == ["world"]
    assert PostTag.objects.filter(post=post, user=friend, kind="photo").exists()
    page = client.get(response.url).content.decode()
    assert "Your post is live." in page and 'href="/tags/world/"' in page and "@grace" in page


def test_compose_text_with_a_link_makes_a_link_post(client, user, django_capture_on_commit_callbacks):
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=False):  # no fetch: only the post's shape matters here
        client.post(reverse("post_create"), {"content": "Read https://example.com/story", "visibility": "public"})
    post = Post.objects.get(author=user)
    assert post.content_type == "link" and post.link_url == "https://example.com/story"


def test_compose_unknown_tag_is_a_form_error(client, user):
    client.force_login(user)
    response = client.post(reverse("post_create"), {"content": "hi", "visibility": "public", "tagged": "nobody"})
    assert response.status_code == 200
    assert "No such user: @nobody." in response.content.decode()
    assert not Post.objects.exists()


def test_compose_cannot_tag_someone_who_blocked_you(client, user, other_user):
    account_services.block_create(blocker=other_user, blocked_user_id=user.pk)
    client.force_login(user)
    response = client.post(
        reverse("post_create"), {"content": "hi", "visibility": "public", "tagged": other_user.username}
    )
    assert response.status_code == 200 and not Post.objects.exists()


def test_compose_empty_text_post_is_refused(client, user):
    client.force_login(user)
    response = client.post(reverse("post_create"), {"content": "   ", "visibility": "public"})
    assert response.status_code == 200
    assert "This field may not be blank." in response.content.decode() or "Write something first." in (
        response.content.decode()
    )
    assert not Post.objects.exists()


def test_compose_with_uploaded_media_ids(client, user):
    media = [MediaFactory(owner=user, filter="sepia") for _ in range(3)]  # already filtered: published at once
    client.force_login(user)

    response = client.post(
        reverse("post_create"),
        {
            "content": "three photos",
            "visibility": "public",
            "filter": "sepia",
            "content_type": "image",
            "media_ids": [str(m.pk) for m in media],
        },
    )

    post = Post.objects.get(author=user)
    assert response.url == detail(post)
    assert post.content_type == "image" and post.status == "published" and post.filter == "sepia"
    assert list(post.media.order_by("position").values_list("pk", flat=True)) == [m.pk for m in media]


def test_compose_with_someone_elses_media_changes_nothing(client, user, other_user):
    theirs = MediaFactory(owner=other_user)
    client.force_login(user)
    response = client.post(
        reverse("post_create"),
        {"content": "x", "visibility": "public", "content_type": "image", "media_ids": [str(theirs.pk)]},
    )
    assert response.status_code == 200
    assert "Some media don" in response.content.decode()
    assert not Post.objects.exists()
    assert Media.objects.get(pk=theirs.pk).post is None


def test_people_search(client, user):
    UserFactory(username="gracie")
    grace = UserFactory(username="grace")
    grace.profile.display_name = "Grace Hopper"
    grace.profile.save()
    blocker = UserFactory(username="graham")
    account_services.block_create(blocker=blocker, blocked_user_id=user.pk)
    for i in range(10):
        UserFactory(username=f"zed{i}")
    url = reverse("people_search")

    assert client.get(url, {"q": "gra"}).status_code == 302
    client.force_login(user)
    names = [p["username"] for p in client.get(url, {"q": "GRA"}).json()["results"]]
    assert names == ["grace", "gracie"]
    assert client.get(url, {"q": "Grace H"}).json()["results"] == [{"username": "grace", "name": "Grace Hopper"}]
    assert len(client.get(url, {"q": "zed"}).json()["results"]) == 8
    assert client.get(url, {"q": ""}).json() == {"results": []}


# --- Post detail -------------------------------------------------------------------------------------


def test_detail_renders_for_anonymous_on_public_post(client, user, make_post):
    post = make_post(user, "Hello there")
    html = client.get(detail(post)).content.decode()
    assert "Hello there" in html and f"@{user.username}" in html
    assert "Log in</a> to comment" in html
    assert 'data-count="likes">0<' in html


def test_detail_404_for_posts_not_visible(client, user, other_user, make_post):
    followers_only = make_post(user, "for followers", visibility="followers")
    assert client.get(detail(followers_only)).status_code == 404
    client.force_login(other_user)
    assert client.get(detail(followers_only)).status_code == 404
    assert client.get("/posts/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/posts/not-a-uuid/").status_code == 404


def test_detail_404_when_blocked(client, user, other_user, make_post):
    post = make_post(user, "public")
    account_services.block_create(blocker=user, blocked_user_id=other_user.pk)
    client.force_login(other_user)
    assert client.get(detail(post)).status_code == 404


def test_deleted_post_is_gone(client, user, make_post):
    post = make_post(user)
    client.force_login(user)
    client.post(reverse("post_delete", args=[post.pk]))
    assert client.get(detail(post)).status_code == 404


def test_pending_post_shows_to_its_author_only(client, user, other_user):
    media = MediaFactory(owner=user, status=Media.Status.PROCESSING)
    client.force_login(user)
    client.post(
        reverse("post_create"),
        {"content": "soon", "visibility": "public", "content_type": "image", "media_ids": [str(media.pk)]},
    )
    post = Post.objects.get(author=user)
    assert post.status == "pending_media"
    html = client.get(detail(post)).content.decode()
    assert "Only you can see this post until its media is processed." in html
    assert "Processing image" in html
    client.force_login(other_user)
    assert client.get(detail(post)).status_code == 404


def test_failed_media_error_is_shown_to_the_author(client, user):
    media = MediaFactory(owner=user, status=Media.Status.PROCESSING)
    post = Post.objects.create(author=user, content_type="image", status=Post.Status.FAILED)
    Media.objects.filter(pk=media.pk).update(post=post, status="failed", error="The file is not an image.")
    client.force_login(user)
    html = client.get(detail(post)).content.decode()
    assert "couldn't be processed: The file is not an image." in html


def test_detail_images_have_srcset_and_alt(client, user, make_post):
    media = MediaFactory(
        owner=user,
        alt_text="A red square",
        variants={
            "original": {"path": "posts/media/a/original.jpg", "width": 2048, "height": 1536},
            "medium": {"path": "posts/media/a/medium.jpg", "width": 1080, "height": 810},
            "thumbnail": {"path": "posts/media/a/thumb.jpg", "width": 320, "height": 240},
        },
    )
    post = make_post(user, "pic", content_type="image", media_ids=[media.pk])
    html = client.get(detail(post)).content.decode()
    signed = r"\?expires=\d+&amp;signature=[0-9a-f]{64}"  # posts/media_urls.py
    assert re.search(rf'src="/media/posts/media/a/medium.jpg{signed}"', html)
    assert re.search(
        rf'srcset="/media/posts/media/a/thumb.jpg{signed} 320w, /media/posts/media/a/medium.jpg{signed} 1080w, '
        rf'/media/posts/media/a/original.jpg{signed} 2048w"',
        html,
    )
    assert 'alt="A red square"' in html


def test_detail_video_has_poster_and_controls(client, user, make_post):
    media = MediaFactory(
        owner=user,
        kind="video",
        variants={
            "video": {"path": "posts/media/v/video.mp4", "width": 640, "height": 360},
            "poster": {"path": "posts/media/v/poster.jpg", "width": 640, "height": 360},
        },
    )
    post = make_post(user, "clip", content_type="video", media_ids=[media.pk])
    html = client.get(detail(post)).content.decode()
    assert '<video class="post-media__video" controls' in html
    signed = r"\?expires=\d+&amp;signature=[0-9a-f]{64}"
    assert re.search(rf'src="/media/posts/media/v/video.mp4{signed}"', html)
    assert re.search(rf'poster="/media/posts/media/v/poster.jpg{signed}"', html)


def test_script_in_content_is_escaped(client, user, make_post):
    post = make_post(user, '<script>alert("x")</script> <img src=x onerror=alert(1)> #ok')
    html = client.get(detail(post)).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert" in html


def test_edit_link_only_for_the_author(client, user, other_user, make_post):
    post = make_post(user)
    client.force_login(other_user)
    assert reverse("post_edit", args=[post.pk]) not in client.get(detail(post)).content.decode()
    client.force_login(user)
    assert reverse("post_edit", args=[post.pk]) in client.get(detail(post)).content.decode()


def test_shared_post_is_embedded(client, user, other_user, make_post):
    original = make_post(other_user, "the original words")
    from posts import services

    quote, _ = services.share_create(user=user, post_id=original.pk, content="look at this")
    html = client.get(detail(quote)).content.decode()
    assert "look at this" in html and "the original words" in html
    assert reverse("post_detail", args=[original.pk]) in html


# --- Hashtag and profile pages ---------------------------------------------------------------------------


def test_hashtag_page_lists_visible_posts_with_pagination(client, user, other_user, make_post):
    for i in range(23):
        make_post(user, f"number {i} #Sunset")
    make_post(other_user, "secretive #sunset", visibility="followers")
    make_post(user, "other #sunrise")

    first = client.get(reverse("hashtag", args=["SUNSET"]))
    html = first.content.decode()
    assert first.status_code == 200
    assert '<h1 class="page-title">#sunset</h1>' in html
    assert html.count('class="card post"') == 20
    assert "number 22 " in html and "secretive" not in html and "sunrise" not in html
    assert "Page 1 of 2" in html
    second = client.get(reverse("hashtag", args=["sunset"]), {"page": 2}).content.decode()
    assert second.count('class="card post"') == 3


def test_hashtag_page_empty(client):
    html = client.get(reverse("hashtag", args=["nothing"])).content.decode()
    assert "No posts with this hashtag yet." in html


def test_profile_lists_the_authors_posts(client, user, other_user, make_post):
    make_post(user, "my first post")
    make_post(user, "friends only", visibility="followers")
    make_post(other_user, "not mine")

    html = client.get(reverse("profile", args=[user.username])).content.decode()
    assert "my first post" in html and "friends only" not in html and "not mine" not in html
    client.force_login(user)
    html = client.get(reverse("profile", args=[user.username])).content.decode()
    assert "my first post" in html and "friends only" in html


def test_private_profile_hides_posts(client, user, make_post):
    private = UserFactory(private=True)
    make_post(private, "secret thoughts")
    client.force_login(user)
    html = client.get(reverse("profile", args=[private.username])).content.decode()
    assert "secret thoughts" not in html and "This account is private." in html


def test_link_preview_card_is_shown_escaped(client, user):
    post = Post.objects.create(
        author=user,
        content="see https://example.com/a",
        content_html="see",
        content_type="link",
        link_url="https://example.com/a",
        link_preview={"title": "<b>Example</b>", "description": "A page", "site_name": "Ex", "url": "x"},
    )
    html = client.get(detail(post)).content.decode()
    assert 'class="link-card" href="https://example.com/a"' in html
    assert "&lt;b&gt;Example&lt;/b&gt;" in html and "A page" in html


def test_counts_are_pluralized(client, user, make_post):
    """A new user saw "1 comments"."""
    post = make_post(user, "one of each")
    Post.objects.filter(pk=post.pk).update(comments_count=1, likes_count=1, shares_count=1)
    html = client.get(detail(post)).content.decode()
    assert re.search(r'data-count="comments">1</span> comment</a>', html)
    assert re.search(r'data-count="likes">1</span><span class="sr-only"> like</span>', html)
    assert re.search(r'data-count="shares">1</span> share</span>', html)
    Post.objects.filter(pk=post.pk).update(comments_count=2, likes_count=0)
    html = client.get(detail(post)).content.decode()
    assert "2</span> comments</a>" in html and '0</span><span class="sr-only"> likes</span>' in html


@pytest.mark.parametrize("name", ["post_detail", "post_like", "post_unlike", "post_share"])
def test_post_url_filter_matches_reverse_under_any_script_prefix(name):
    """The cards' cached reversal (posts_tags.post_url) gives what {% url %} gives, also when
    the site is served under a path prefix."""
    import uuid

    from django.urls import reverse, set_script_prefix

    from posts.templatetags.posts_tags import post_url, report_post_url

    pk = uuid.uuid4()
    try:
        for prefix in ("/", "/social/"):
            set_script_prefix(prefix)
            assert post_url(pk, name) == reverse(name, args=[pk])
            assert report_post_url(pk) == reverse("report", args=["post", pk])
    finally:
        set_script_prefix("/")

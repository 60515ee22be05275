"""Media of non-public posts load only through signed, expiring URLs (media/signed_urls.py, posts/media_files.py)."""

import datetime
from urllib.parse import urlsplit

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from freezegun import freeze_time

from accounts import services as account_services
from media import signed_urls
from posts import services
from tests.factories import UserFactory
from tests.media.conftest import ready_photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def photo(user_api, django_capture_on_commit_callbacks):
    return ready_photo(user_api, django_capture_on_commit_callbacks, size=(400, 300))


def publish(user, media, visibility):
    return services.post_create(
        author=user, content_type="image", content="pic", media_ids=[media.pk], visibility=visibility
    )


def local(url):
    """The path and query of an absolute URL, for the test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def get(url, client=None):
    response = (client or Client()).get(local(url))
    body = b"".join(response.streaming_content) if response.status_code == 200 else b""
    return response, body


def plain(media, name="medium"):
    return default_storage.url(media.variants[name]["path"])


def post_urls(client_api, post):
    return client_api.get(f"/api/v1/posts/{post.pk}").json()["media"][0]["variants"]


def test_a_followers_only_photo_loads_only_through_its_signed_url(user, photo, client_for):
    """The outside review loaded a followers-only post's image without signing in."""
    follower = UserFactory()
    account_services.follow_create(follower=follower, followed_user_id=user.pk)
    post = publish(user, photo, "followers")
    assert get(plain(photo))[0].status_code == 404  # the bare address proves nothing
    signed = post_urls(client_for(follower), post)["medium"]
    response, body = get(signed)  # no session: the signature is the permission
    assert response.status_code == 200
    with default_storage.open(photo.variants["medium"]["path"]) as stored:
        assert body == stored.read()
    assert "max-age=" in response["Cache-Control"]
    path, query = local(signed).split("?")
    assert get(f"{path}?{query.replace('signature=', 'signature=0')}")[0].status_code == 404
    other = photo.variants["thumbnail"]["path"]
    assert get(f"{default_storage.url(other)}?{query}")[0].status_code == 404  # a signature is for one file


def test_a_signed_url_expires(user, photo, client_for):
    post = publish(user, photo, "followers")
    signed = post_urls(client_for(user), post)["medium"]
    expires = int(dict(pair.split("=") for pair in local(signed).split("?")[1].split("&"))["expires"])
    window = 3600
    now = datetime.datetime.now(datetime.UTC)
    assert 2 * window <= expires - now.timestamp() <= 3 * window
    with freeze_time(datetime.datetime.fromtimestamp(expires + 1, datetime.UTC)):
        assert get(signed)[0].status_code == 404


def test_public_photos_keep_plain_cacheable_urls_and_the_same_signed_url_for_everyone(user, photo, client_for):
    post = publish(user, photo, "public")
    response, _ = get(plain(photo))
    assert response.status_code == 200 and response["Cache-Control"] == "public, max-age=86400"
    one, two = post_urls(client_for(UserFactory()), post), post_urls(client_for(UserFactory()), post)
    assert one == two  # one address per window: browsers and caches share it
    assert get(one["medium"])[0].status_code == 200


def test_a_post_made_private_later_stops_serving_the_plain_url(user, photo):
    post = publish(user, photo, "public")
    assert get(plain(photo))[0].status_code == 200
    services.post_update(post=post, editor=user, visibility="followers")
    assert get(plain(photo))[0].status_code == 404


def test_unattached_uploads_and_raw_files_are_never_public(user_api, photo):
    assert get(plain(photo))[0].status_code == 404  # not in a post yet: only its owner sees it
    owner_url = user_api.get(f"/api/v1/media/{photo.pk}").json()["variants"]["medium"]["url"]
    assert get(owner_url)[0].status_code == 200
    assert get("/media/uploads/2026/12/anything.jpg")[0].status_code == 404
    assert get("/media/posts/media/not-a-uuid/medium.webp")[0].status_code == 404


def test_signatures_hold_the_path_and_the_expiry():
    expires = signed_urls.expiry()
    good = signed_urls.signature("posts/media/a/medium.webp", expires)
    assert signed_urls.valid_for("posts/media/a/medium.webp", {"expires": str(expires), "signature": good})
    assert not signed_urls.valid_for("posts/media/b/medium.webp", {"expires": str(expires), "signature": good})
    assert not signed_urls.valid_for("posts/media/a/medium.webp", {"expires": str(expires + 1), "signature": good})
    assert not signed_urls.valid_for("posts/media/a/medium.webp", {"expires": "junk", "signature": good})

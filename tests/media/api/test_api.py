import pytest
from django.core.files.storage import default_storage

from media.models import Media
from tests.conftest import image_bytes
from tests.factories import UserFactory
from tests.media.conftest import MEDIA_URL, post_file
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready_media(user_api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(user_api, image_bytes("JPEG", size=(1200, 900)), "p.jpg", alt_text="A red square")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "processing" and body["kind"] == "image" and body["variants"] == {}
    return body["id"]


class TestRead:
    def test_owner_sees_status_and_variant_urls(self, user_api, ready_media):
        body = user_api.get(f"{MEDIA_URL}/{ready_media}").json()
        assert body["id"] == ready_media and body["status"] == "ready" and body["error"] == ""
        assert body["alt_text"] == "A red square" and body["filter"] == ""
        assert (body["width"], body["height"]) == (1200, 900) and body["duration"] is None
        assert body["blurhash"]
        assert set(body["variants"]) == {"original", "medium", "thumbnail"}
        for variant in body["variants"].values():
            assert variant["url"].startswith("http://testserver/media/posts/media/")
            assert variant["content_type"] == "image/jpeg"
        assert body["variants"]["medium"]["width"] == 1080

    def test_variant_urls_are_served_from_storage(self, user_api, ready_media):
        media = Media.objects.get(pk=ready_media)
        for variant in media.variants.values():
            assert default_storage.exists(variant["path"])

    def test_others_get_404_and_anonymous_401(self, api, client_for, ready_media):
        assert_error(client_for(UserFactory()).get(f"{MEDIA_URL}/{ready_media}"), 404, "not_found")
        assert_error(api.get(f"{MEDIA_URL}/{ready_media}"), 401)

    def test_unknown_id(self, user_api):
        assert_error(user_api.get(f"{MEDIA_URL}/0190a1b2-0000-7000-8000-000000000000"), 404)


@pytest.mark.django_db(transaction=True)
def test_answers_201_when_processing_finished_during_the_request(client_for):
    """Without a worker the task runs on commit, so the answer already carries the result."""
    client = client_for(UserFactory())
    response = post_file(client, image_bytes("PNG", size=(64, 48)), "tiny.png", filter="sepia")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "ready" and body["filter"] == "sepia"
    assert body["variants"]["thumbnail"]["width"] == 64


@pytest.mark.django_db(transaction=True)
def test_answers_201_failed_with_the_reason(client_for, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "tests.media.storages.FlakyStorage"}}
    from tests.media.storages import FlakyStorage

    FlakyStorage.failures = 100
    try:
        response = post_file(client_for(UserFactory()), image_bytes(), "a.png")
    finally:
        FlakyStorage.failures = 0
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "failed" and "try uploading it again" in body["error"]
    assert body["variants"] == {}

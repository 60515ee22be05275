"""DELETE /media/{id} and the sweeper for uploads no post took (issue 16: 129 of 131 uploads lived forever)."""

import threading
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections
from django.utils import timezone

from media import images
from media import services as media_code
from media.models import Media
from posts import services
from posts.models import Post
from socialsite import repair
from tests.conftest import image_bytes
from tests.factories import UserFactory
from tests.media.conftest import MEDIA_URL, post_file, ready_photo
from tests.socialsite.api.helpers import assert_error

upload = ready_photo


def files_of(media):
    return [variant["path"] for variant in media.variants.values()]


def stored(names):
    return [name for name in names if default_storage.exists(name)]


@pytest.mark.django_db
class TestDelete:
    def test_the_owner_deletes_an_unattached_upload_and_its_files(self, user_api, django_capture_on_commit_callbacks):
        media = upload(user_api, django_capture_on_commit_callbacks)
        names = files_of(media)
        assert stored(names) == names
        with django_capture_on_commit_callbacks(execute=True):
            response = user_api.delete(f"{MEDIA_URL}/{media.pk}")
        assert response.status_code == 204
        assert not Media.objects.filter(pk=media.pk).exists()
        assert stored(names) == []
        assert_error(user_api.delete(f"{MEDIA_URL}/{media.pk}"), 404, "not_found")  # replayed

    def test_nobody_else_can(self, api, user_api, client_for, django_capture_on_commit_callbacks):
        media = upload(user_api, django_capture_on_commit_callbacks)
        assert_error(client_for(UserFactory()).delete(f"{MEDIA_URL}/{media.pk}"), 404, "not_found")
        assert_error(api.delete(f"{MEDIA_URL}/{media.pk}"), 401)
        assert_error(user_api.delete(f"{MEDIA_URL}/0190a1b2-0000-7000-8000-000000000000"), 404)
        assert user_api.delete(f"{MEDIA_URL}/not-a-uuid").status_code == 404
        assert Media.objects.filter(pk=media.pk).exists() and stored(files_of(media)) == files_of(media)

    def test_media_in_a_post_stays(self, user, user_api, django_capture_on_commit_callbacks):
        media = upload(user_api, django_capture_on_commit_callbacks)
        services.post_create(author=user, content_type="image", media_ids=[media.pk])
        assert_error(user_api.delete(f"{MEDIA_URL}/{media.pk}"), 409, "media_in_post")
        assert stored(files_of(media)) == files_of(media)

    def test_a_worker_finishing_a_deleted_upload_removes_what_it_wrote(self, user, django_capture_on_commit_callbacks):
        written = default_storage.save("posts/media/gone/medium.webp", ContentFile(b"x"))
        result = images.Processed(variants={"medium": {"path": written}}, width=1, height=1, blurhash="")
        media = Media.objects.create(owner=user, kind=Media.Kind.IMAGE)
        Media.objects.filter(pk=media.pk).delete()
        with django_capture_on_commit_callbacks(execute=True):
            assert media_code._finish(media.pk, result) is None
        assert not default_storage.exists(written)


@pytest.mark.django_db(transaction=True)
def test_a_delete_racing_a_post_never_both_win(client_for):
    for _ in range(5):
        user = UserFactory()
        response = post_file(client_for(user), image_bytes("PNG", size=(40, 30)), "p.png")
        media_id = response.json()["id"]
        barrier, outcomes = threading.Barrier(2), {}

        def delete(user=user, media_id=media_id, barrier=barrier, outcomes=outcomes):
            try:
                barrier.wait()
                outcomes["delete"] = client_for(user).delete(f"{MEDIA_URL}/{media_id}").status_code
            finally:
                connections.close_all()

        def publish(user=user, media_id=media_id, barrier=barrier, outcomes=outcomes):
            body = {"content_type": "image", "media_ids": [media_id]}
            try:
                barrier.wait()
                outcomes["post"] = client_for(user).post("/api/v1/posts", body, format="json").status_code
            finally:
                connections.close_all()

        threads = [threading.Thread(target=delete), threading.Thread(target=publish)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert outcomes in ({"delete": 204, "post": 400}, {"delete": 409, "post": 201}), outcomes
        in_post = Post.objects.filter(media__pk=media_id).exists()
        assert in_post == (outcomes["post"] == 201)


@pytest.mark.django_db
def test_the_sweeper_deletes_uploads_no_post_took_within_a_day(user, user_api, django_capture_on_commit_callbacks):
    old, old_in_post, young = (upload(user_api, django_capture_on_commit_callbacks) for _ in range(3))
    services.post_create(author=user, content_type="image", media_ids=[old_in_post.pk])
    Media.objects.filter(pk__in=[old.pk, old_in_post.pk]).update(created_at=timezone.now() - timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        results = repair.run_all()
    assert results["unattached uploads deleted"] == 1
    assert set(Media.objects.values_list("pk", flat=True)) == {old_in_post.pk, young.pk}
    assert stored(files_of(old)) == []
    assert stored(files_of(young)) == files_of(young)

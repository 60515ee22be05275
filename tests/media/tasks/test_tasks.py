import pytest
from django.core.files.storage import default_storage

from media import services as media_code
from media import tasks
from media.models import Media
from tests.conftest import image_bytes
from tests.media.conftest import post_file, processed
from tests.media.storages import FlakyStorage

pytestmark = pytest.mark.django_db


def upload_without_processing(client, django_capture_on_commit_callbacks, data=None, name="a.png"):
    """Upload, dropping the on-commit task; return the processing row."""
    with django_capture_on_commit_callbacks(execute=False):
        response = post_file(client, data or image_bytes(), name)
    media = processed(response.json()["id"])
    assert media.status == Media.Status.PROCESSING and media.upload.name
    return media


@pytest.fixture
def flaky_storage(settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "tests.media.storages.FlakyStorage"}}
    yield FlakyStorage
    FlakyStorage.failures = 0


def test_second_run_is_a_no_op(user_api, django_capture_on_commit_callbacks):
    media = upload_without_processing(user_api, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.process_media.delay(str(media.id))
    first = processed(media.id)
    assert first.status == Media.Status.READY and first.attempts == 1
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tasks.process_media.delay(str(media.id))
    again = processed(media.id)
    assert callbacks == []
    assert (again.attempts, again.variants, again.processed_at) == (1, first.variants, first.processed_at)
    assert all(default_storage.exists(v["path"]) for v in again.variants.values())


def test_missing_or_malformed_ids_are_no_ops(db):
    tasks.process_media.delay("0190a1b2-0000-7000-8000-000000000000")
    tasks.process_media.delay("not-a-uuid")
    assert media_code.media_process(media_id="0190a1b2-0000-7000-8000-000000000000") is None


def test_storage_errors_are_retried(user_api, django_capture_on_commit_callbacks, flaky_storage):
    media = upload_without_processing(user_api, django_capture_on_commit_callbacks)
    flaky_storage.failures = 2
    with django_capture_on_commit_callbacks(execute=True):
        tasks.process_media.delay(str(media.id))
    media = processed(media.id)
    assert media.status == Media.Status.READY and media.attempts == 3
    assert all(default_storage.exists(v["path"]) for v in media.variants.values())


def test_after_the_last_retry_the_row_fails_with_a_clear_message(
    user_api, django_capture_on_commit_callbacks, flaky_storage
):
    media = upload_without_processing(user_api, django_capture_on_commit_callbacks)
    upload_name = media.upload.name
    flaky_storage.failures = 1000
    with django_capture_on_commit_callbacks(execute=True):
        tasks.process_media.delay(str(media.id))
    media = processed(media.id)
    assert media.status == Media.Status.FAILED
    assert media.attempts == tasks.MEDIA_MAX_RETRIES + 1
    assert media.error == tasks.STORAGE_FAILED_MESSAGE
    assert not default_storage.exists(upload_name)  # the raw upload (with its metadata) is gone
    body = user_api.get(f"/api/v1/media/{media.id}").json()
    assert body["status"] == "failed" and body["error"] == tasks.STORAGE_FAILED_MESSAGE


def test_retry_delays_back_off():
    delays = [tasks.retry_delay(n) for n in range(8)]
    assert delays[0] < delays[1] < delays[2] < delays[3]
    assert max(delays) <= 605


def test_a_file_damaged_after_upload_fails_permanently(user_api, django_capture_on_commit_callbacks):
    media = upload_without_processing(user_api, django_capture_on_commit_callbacks, image_bytes("JPEG"), "a.jpg")
    with default_storage.open(media.upload.name, "wb") as stored:
        stored.write(image_bytes("JPEG")[:300])
    with django_capture_on_commit_callbacks(execute=True):
        tasks.process_media.delay(str(media.id))
    media = processed(media.id)
    assert media.status == Media.Status.FAILED and media.attempts == 1
    assert "damaged or incomplete" in media.error
    assert media.variants == {}


def test_a_missing_upload_fails_permanently(user_api, django_capture_on_commit_callbacks):
    media = upload_without_processing(user_api, django_capture_on_commit_callbacks)
    default_storage.delete(media.upload.name)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.process_media.delay(str(media.id))
    media = processed(media.id)
    assert media.status == Media.Status.FAILED and "upload it again" in media.error


def test_media_attached_to_a_post_settles(user_api, user, django_capture_on_commit_callbacks):
    from posts.models import Post

    media = upload_without_processing(user_api, django_capture_on_commit_callbacks)
    post = Post.objects.create(author=user, content_type=Post.ContentType.IMAGE, status=Post.Status.PENDING_MEDIA)
    Media.objects.filter(pk=media.pk).update(post=post)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.process_media.delay(str(media.id))
    assert processed(media.id).status == Media.Status.READY

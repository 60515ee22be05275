"""A `filter` given on POST /posts re-filters the post's images, even ones already processed."""

import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from media import images, tasks
from media import services as media_code
from media.models import Media
from posts.models import Post
from socialsite import metrics
from tests.media.conftest import MEDIA_URL, post_file, processed, stored_image

pytestmark = pytest.mark.django_db

IMAGE_VARIANTS = ("original", "medium", "thumbnail")


def photo(size=(400, 300)):
    """A colourful JPEG carrying EXIF with a camera make and GPS position."""
    image = Image.new("RGB", size)
    image.putdata([(x * 255 // size[0], y * 255 // size[1], 60) for y in range(size[1]) for x in range(size[0])])
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (4.0, 53.0, 0.0)}
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95, exif=exif)
    return buffer.getvalue()


def upload(client, capture, execute=True, **fields):
    with capture(execute=execute):
        response = post_file(client, photo(), "photo.jpg", **fields)
    assert response.status_code == 202, response.content
    return processed(response.json()["id"])


def create_post(client, capture, media, **body):
    with capture(execute=True):
        response = client.post(
            "/api/v1/posts", {"content_type": "image", "media_ids": [str(media.pk)], **body}, format="json"
        )
    assert response.status_code == 201, response.content
    return response.json()


def is_gray(path):
    image = stored_image(path).convert("RGB")
    return all(max(pixel) - min(pixel) <= 3 for pixel in image.get_flattened_data())


def is_sepia(path):
    # Sepia keeps red >= green >= blue on every pixel, and is brown rather than gray overall.
    data = list(stored_image(path).convert("RGB").get_flattened_data())
    return all(r + 3 >= g and g + 3 >= b for r, g, b in data) and sum(r - b for r, _, b in data) / len(data) > 15


def assert_all(media, check):
    for name in IMAGE_VARIANTS:
        assert check(media.variants[name]["path"]), name


def test_a_ready_image_gets_the_posts_filter(user_api, django_capture_on_commit_callbacks):
    media = upload(user_api, django_capture_on_commit_callbacks)
    assert media.status == Media.Status.READY and media.filter == ""
    before, colour_blurhash = media.variants, media.blurhash
    assert not is_gray(before["original"]["path"])

    body = create_post(user_api, django_capture_on_commit_callbacks, media, filter="grayscale")
    assert body["status"] == "pending_media"  # until the re-filtered variants are committed

    media = processed(media.pk)
    assert media.status == Media.Status.READY and media.filter == "grayscale", media.error
    assert Post.objects.get(pk=body["id"]).status == Post.Status.PUBLISHED
    assert_all(media, is_gray)
    assert media.blurhash and media.blurhash != colour_blurhash
    for variant in media.variants.values():
        image = stored_image(variant["path"])
        assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info
    assert media.variants["source"] == before["source"]  # the unfiltered source is kept
    assert not is_gray(media.variants["source"]["path"])
    old_paths = {before[name]["path"] for name in IMAGE_VARIANTS}
    assert not old_paths & {media.variants[name]["path"] for name in IMAGE_VARIANTS}
    assert not any(default_storage.exists(path) for path in old_paths)  # replaced files are deleted


def test_the_posts_filter_wins_over_the_uploads(user_api, django_capture_on_commit_callbacks):
    media = upload(user_api, django_capture_on_commit_callbacks, filter="sepia")
    assert_all(media, is_sepia)
    body = create_post(user_api, django_capture_on_commit_callbacks, media, filter="grayscale")
    media = processed(media.pk)
    assert media.filter == "grayscale" and media.status == Media.Status.READY
    assert_all(media, is_gray)
    assert Post.objects.get(pk=body["id"]).status == Post.Status.PUBLISHED


def test_a_post_without_filter_keeps_the_uploads(user_api, django_capture_on_commit_callbacks):
    media = upload(user_api, django_capture_on_commit_callbacks, filter="sepia")
    before = media.variants
    body = create_post(user_api, django_capture_on_commit_callbacks, media)
    assert body["status"] == "published"
    media = processed(media.pk)
    assert media.filter == "sepia" and media.variants == before
    assert_all(media, is_sepia)


def test_the_same_filter_is_not_redone(user_api, django_capture_on_commit_callbacks):
    media = upload(user_api, django_capture_on_commit_callbacks, filter="grayscale")
    before = media.variants
    assert create_post(user_api, django_capture_on_commit_callbacks, media, filter="grayscale")["status"] == "published"
    assert processed(media.pk).variants == before


def test_an_image_still_processing_is_made_with_the_posts_filter(user_api, django_capture_on_commit_callbacks):
    media = upload(user_api, django_capture_on_commit_callbacks, execute=False, filter="sepia")
    assert media.status == Media.Status.PROCESSING
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        body = user_api.post(
            "/api/v1/posts",
            {"content_type": "image", "media_ids": [str(media.pk)], "filter": "grayscale"},
            format="json",
        ).json()
    # Nothing to redo (the worker reads the filter when it runs): only the post is counted.
    assert callbacks == [metrics.POSTS_CREATED.inc]
    assert body["status"] == "pending_media"
    with django_capture_on_commit_callbacks(execute=True):
        tasks.process_media.delay(str(media.pk))
    media = processed(media.pk)
    assert media.status == Media.Status.READY and media.filter == "grayscale"
    assert_all(media, is_gray)
    assert Post.objects.get(pk=body["id"]).status == Post.Status.PUBLISHED


def test_a_filter_changed_while_processing_is_redone(user_api, django_capture_on_commit_callbacks, monkeypatch):
    media = upload(user_api, django_capture_on_commit_callbacks, execute=False)
    make = images.image_variants

    def change_filter_midway(row, image, filter, written, stamp=""):
        if not stamp:  # the first processing run: a post sets the filter meanwhile
            Media.objects.filter(pk=row.pk).update(filter="grayscale")
        return make(row, image, filter, written, stamp=stamp)

    monkeypatch.setattr(images, "image_variants", change_filter_midway)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.process_media.delay(str(media.pk))
    media = processed(media.pk)
    assert media.status == Media.Status.READY and media.filter == "grayscale"
    assert_all(media, is_gray)


def test_the_api_never_shows_the_source(user_api, django_capture_on_commit_callbacks):
    media = upload(user_api, django_capture_on_commit_callbacks)
    assert "source" in media.variants
    assert set(user_api.get(f"{MEDIA_URL}/{media.pk}").json()["variants"]) == set(IMAGE_VARIANTS)
    body = create_post(user_api, django_capture_on_commit_callbacks, media, filter="grayscale")
    post = user_api.get(f"/api/v1/posts/{body['id']}").json()
    assert set(post["media"][0]["variants"]) == set(IMAGE_VARIANTS)
    assert set(user_api.get(f"{MEDIA_URL}/{media.pk}").json()["variants"]) == set(IMAGE_VARIANTS)


def test_refiltering_twice_is_a_no_op(user_api, django_capture_on_commit_callbacks):
    media = upload(user_api, django_capture_on_commit_callbacks)
    create_post(user_api, django_capture_on_commit_callbacks, media, filter="grayscale")
    first = processed(media.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tasks.refilter_media.delay(str(media.pk), "grayscale")
    again = processed(media.pk)
    assert callbacks == []
    assert (again.variants, again.blurhash, again.attempts, again.processed_at) == (
        first.variants,
        first.blurhash,
        first.attempts,
        first.processed_at,
    )
    assert all(default_storage.exists(v["path"]) for v in again.variants.values())
    assert media_code.media_refilter(media_id="not-a-uuid", filter="grayscale") is None


def test_process_media_leaves_an_image_being_refiltered_alone(user_api, django_capture_on_commit_callbacks):
    media = upload(user_api, django_capture_on_commit_callbacks)
    Media.objects.filter(pk=media.pk).update(status=Media.Status.PROCESSING, filter="grayscale")
    assert media_code.media_process(media_id=media.pk) is None
    assert processed(media.pk).status == Media.Status.PROCESSING


def test_a_failed_refilter_fails_the_media_and_the_post(user_api, django_capture_on_commit_callbacks):
    media = upload(user_api, django_capture_on_commit_callbacks)
    default_storage.delete(media.variants["source"]["path"])
    body = create_post(user_api, django_capture_on_commit_callbacks, media, filter="grayscale")
    media = processed(media.pk)
    assert media.status == Media.Status.FAILED and media.error
    assert Post.objects.get(pk=body["id"]).status == Post.Status.FAILED


def without_source(media, **fields):
    """The media as processed before the "source" variant existed."""
    variants = dict(media.variants)
    default_storage.delete(variants.pop("source")["path"])
    Media.objects.filter(pk=media.pk).update(variants=variants, **fields)
    return processed(media.pk)


def test_older_unfiltered_media_are_filtered_from_their_original(user_api, django_capture_on_commit_callbacks):
    media = without_source(upload(user_api, django_capture_on_commit_callbacks))
    body = create_post(user_api, django_capture_on_commit_callbacks, media, filter="grayscale")
    media = processed(media.pk)
    assert media.status == Media.Status.READY and media.filter == "grayscale"
    assert_all(media, is_gray)
    assert not is_gray(media.variants["source"]["path"])  # the old original is kept as the source
    assert Post.objects.get(pk=body["id"]).status == Post.Status.PUBLISHED


def test_older_filtered_media_are_left_as_they_are(user_api, django_capture_on_commit_callbacks, caplog):
    media = without_source(upload(user_api, django_capture_on_commit_callbacks, filter="sepia"))
    before = media.variants
    body = create_post(user_api, django_capture_on_commit_callbacks, media, filter="grayscale")
    assert body["status"] == "published"
    media = processed(media.pk)
    assert (media.status, media.filter, media.variants) == (Media.Status.READY, "sepia", before)
    assert "no source variant" in caplog.text

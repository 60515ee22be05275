import pytest
from django.core.files.storage import default_storage

from media import videos
from media.models import Media
from tests.conftest import run_ffmpeg
from tests.media.conftest import post_file, probe, processed, stored_image

pytestmark = pytest.mark.django_db


def atoms(data):
    """The top-level MP4 boxes, in file order."""
    names, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        name = data[offset + 4 : offset + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        names.append(name)
        if size < 8:
            break
        offset += size
    return names


def upload_video(client, data, django_capture_on_commit_callbacks, name="clip.mp4"):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(client, data, name)
    assert response.status_code == 202, response.content
    assert response.json()["kind"] == "video"
    return processed(response.json()["id"])


def test_transcodes_to_h264_aac_faststart_without_metadata(
    user_api, clip, tmp_path, django_capture_on_commit_callbacks
):
    media = upload_video(user_api, clip(seconds=2), django_capture_on_commit_callbacks)
    assert media.status == Media.Status.READY, media.error
    assert set(media.variants) == {"video", "poster", "thumbnail"}
    assert media.duration == pytest.approx(2.0, abs=0.15)
    assert (media.width, media.height) == (640, 360)
    assert media.blurhash

    with default_storage.open(media.variants["video"]["path"]) as stored:
        data = stored.read()
    names = atoms(data)
    assert names.index("moov") < names.index("mdat")  # faststart
    local = tmp_path / "out.mp4"
    local.write_bytes(data)
    info = probe(local)
    codecs = {stream["codec_type"]: stream["codec_name"] for stream in info["streams"]}
    assert codecs == {"video": "h264", "audio": "aac"}
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert video["pix_fmt"] == "yuv420p"
    tags = {key.lower() for key in info["format"].get("tags", {})}
    for stream in info["streams"]:
        tags |= {key.lower() for key in stream.get("tags", {})}
    assert not tags & {"title", "creation_time", "location", "comment"}
    assert b"Secret title" not in data and b"private" not in data

    poster = stored_image(media.variants["poster"]["path"])
    assert poster.format == "JPEG" and poster.size == (640, 360) and not poster.getexif()
    thumbnail = stored_image(media.variants["thumbnail"]["path"])
    assert thumbnail.size == (320, 180)
    assert media.upload.name == ""


def test_large_video_is_scaled_to_fit_1080p(user_api, clip, django_capture_on_commit_callbacks, settings):
    settings.MEDIA_VIDEO_MAX_HEIGHT = 180  # the same rule at a smaller size keeps the test fast
    media = upload_video(user_api, clip(seconds=1, size="640x360"), django_capture_on_commit_callbacks)
    assert media.status == Media.Status.READY, media.error
    assert (media.variants["video"]["width"], media.variants["video"]["height"]) == (320, 180)


def test_fit_video_rule():
    assert videos.fit_video(3840, 2160, 1080) == (1920, 1080)
    assert videos.fit_video(1080, 1920, 1080) == (1080, 1920)
    assert videos.fit_video(2160, 3840, 1080) == (1080, 1920)
    assert videos.fit_video(1001, 501, 1080) == (1000, 500)  # small: kept, made even
    assert videos.fit_video(4000, 1000, 1080) == (1920, 480)


def test_webm_input_uploaded_to_a_temporary_file(
    user_api, ffmpeg, tmp_path, django_capture_on_commit_callbacks, settings
):

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # Django spools the upload to disk; ffprobe reads that file

    path = tmp_path / "in.webm"
    run_ffmpeg(
        *("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "1"),
        *("-c:v", "libvpx", "-b:v", "200k", str(path)),
    )
    media = upload_video(user_api, path.read_bytes(), django_capture_on_commit_callbacks, name="in.webm")
    assert media.status == Media.Status.READY, media.error
    assert media.duration == pytest.approx(1.0, abs=0.15)


def test_phone_rotation_is_applied(user_api, clip, tmp_path, django_capture_on_commit_callbacks):

    source = tmp_path / "landscape.mp4"
    source.write_bytes(clip(seconds=1))
    rotated = tmp_path / "rotated.mp4"
    run_ffmpeg("-i", str(source), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated))
    media = upload_video(user_api, rotated.read_bytes(), django_capture_on_commit_callbacks)
    assert media.status == Media.Status.READY, media.error
    assert (media.width, media.height) == (360, 640)
    assert stored_image(media.variants["poster"]["path"]).size == (360, 640)


@pytest.mark.parametrize("name", ["grayscale", "sepia", "vivid", "cool", "warm", "fade"])
def test_filters_apply_to_videos(user_api, clip, django_capture_on_commit_callbacks, name):
    from PIL import ImageStat

    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(user_api, clip(seconds=1, size="320x180"), "clip.mp4", filter=name)
    media = processed(response.json()["id"])
    assert media.status == Media.Status.READY, media.error
    poster = stored_image(media.variants["poster"]["path"]).convert("RGB")
    red, green, blue = ImageStat.Stat(poster).mean
    if name == "grayscale":
        assert max(abs(red - green), abs(green - blue)) < 2
    elif name in ("sepia", "warm"):
        assert red > blue + 15
    elif name == "cool":
        assert blue > red + 15
    elif name == "fade":
        pixels = list(poster.get_flattened_data())
        dark = sum(1 for pixel in pixels if min(pixel) < 25)
        assert dark < len(pixels) * 0.01  # blacks lifted (chroma subsampling may leave a few at edges)

"""Each obviously bad upload gets a clear 400 and leaves nothing behind."""

import io
import struct
import zlib

import pytest
from PIL import Image

from media.models import Media
from tests.conftest import image_bytes, run_ffmpeg
from tests.media.conftest import MEDIA_URL, post_file
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db


def png_bomb(width=30_000, height=30_000):
    """A valid, tiny PNG that would decode to width x height pixels (1-bit grayscale, all zero)."""

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    compressor = zlib.compressobj(9)
    rows = (b"\0" * (1 + (width + 7) // 8)) * 1000
    idat = b"".join(compressor.compress(rows) for _ in range(height // 1000)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def nothing_stored(settings):
    yield
    assert Media.objects.count() == 0
    root = settings.MEDIA_ROOT
    assert not root.exists() or not any(path.is_file() for path in root.rglob("*"))


def rejected(response, code):
    error = assert_error(response, 400, code)
    assert error["fields"]["file"]
    return error


@pytest.mark.usefixtures("nothing_stored")
class TestRejectedOnUpload:
    def test_empty_file(self, user_api):
        rejected(post_file(user_api, b"", "empty.jpg"), "empty_file")

    def test_text_file_named_jpg(self, user_api):
        rejected(post_file(user_api, b"just some text, not a photo\n" * 20, "holiday.jpg"), "unsupported_file")

    @pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
    def test_truncated_image(self, user_api, fmt):
        data = image_bytes(fmt, size=(800, 600))
        rejected(post_file(user_api, data[: len(data) // 2], f"cut.{fmt.lower()}"), "invalid_image")

    def test_png_bomb_is_refused_from_its_header(self, user_api):
        bomb = png_bomb()
        assert len(bomb) < 300_000  # ~900 megapixels in a small file
        with pytest.raises(Image.DecompressionBombError):  # what Pillow alone would say
            Image.open(io.BytesIO(bomb))
        error = rejected(post_file(user_api, bomb, "bomb.png"), "image_too_large")
        assert "pixels" in error["message"]

    def test_pixel_limit_is_a_setting(self, user_api, settings):
        settings.MEDIA_IMAGE_MAX_PIXELS = 10_000
        rejected(post_file(user_api, image_bytes("PNG", size=(200, 200)), "a.png"), "image_too_large")

    def test_oversized_image(self, user_api, settings):
        settings.MEDIA_IMAGE_MAX_BYTES = 1000
        data = image_bytes("PNG", size=(400, 400)) + b"\0" * 2000
        error = rejected(post_file(user_api, data, "big.png"), "file_too_large")
        assert "MB" in error["message"]

    def test_larger_than_any_limit_is_refused_before_decoding(self, user_api, settings):
        settings.MEDIA_IMAGE_MAX_BYTES = settings.MEDIA_VIDEO_MAX_BYTES = 100
        rejected(post_file(user_api, b"x" * 500, "big.mp4"), "file_too_large")

    def test_unsupported_image_format(self, user_api):
        rejected(post_file(user_api, image_bytes("BMP"), "a.jpg"), "unsupported_image")

    def test_audio_only_file_has_no_video_stream(self, user_api, ffmpeg, tmp_path):
        path = tmp_path / "song.m4a"
        run_ffmpeg("-f", "lavfi", "-i", "sine=frequency=440", "-t", "1", "-c:a", "aac", str(path))
        rejected(post_file(user_api, path.read_bytes(), "song.mp4"), "no_video_stream")

    def test_oversized_video(self, user_api, clip, settings):
        data = clip(seconds=1)
        settings.MEDIA_VIDEO_MAX_BYTES = len(data) - 1
        rejected(post_file(user_api, data, "clip.mp4"), "file_too_large")

    def test_over_long_video(self, user_api, clip, settings):
        settings.MEDIA_VIDEO_MAX_SECONDS = 1
        error = rejected(post_file(user_api, clip(seconds=3), "long.mp4"), "video_too_long")
        assert "1 seconds" in error["message"]


@pytest.mark.usefixtures("nothing_stored")
class TestRejectedFields:
    def test_missing_file(self, user_api):
        error = assert_error(user_api.post(MEDIA_URL, {"alt_text": "hi"}, format="multipart"), 400, "invalid")
        assert "file" in error["fields"]

    def test_alt_text_too_long(self, user_api):
        error = assert_error(post_file(user_api, image_bytes(), "a.png", alt_text="x" * 1001), 400, "invalid")
        assert "alt_text" in error["fields"]

    def test_anonymous(self, api):
        assert_error(post_file(api, image_bytes(), "a.png"), 401)

import io
import json
import shutil
import subprocess

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from posts.models import Media
from tests.conftest import require

MEDIA_URL = "/api/v1/media"


def post_file(client, data, name="photo.jpg", **fields):
    handle = io.BytesIO(data)
    handle.name = name
    return client.post(MEDIA_URL, {"file": handle, **fields}, format="multipart")


def stored_image(path):
    with default_storage.open(path) as stored:
        image = Image.open(stored)
        image.load()
    return image


def run_ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, timeout=120)


def probe(path):
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


@pytest.fixture
def ffmpeg():
    require(shutil.which("ffmpeg") and shutil.which("ffprobe"), "ffmpeg not installed (apt-get install ffmpeg)")


@pytest.fixture
def clip(ffmpeg, tmp_path):
    """clip(seconds=2, size="640x360") -> bytes of an MP4 with H.264 video, AAC audio and metadata tags."""

    def make(seconds=2, size="640x360", name="clip.mp4"):
        path = tmp_path / name
        run_ffmpeg(
            *("-f", "lavfi", "-i", f"testsrc=size={size}:rate=25"),
            *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"),
            *("-t", str(seconds), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"),
            *("-metadata", "title=Secret title", "-metadata", "creation_time=2020-01-02T03:04:05Z"),
            *("-metadata", "location=+52.3700+004.8900/", "-metadata", "comment=private"),
            str(path),
        )
        return path.read_bytes()

    return make


def processed(media_id):
    return Media.objects.get(pk=media_id)

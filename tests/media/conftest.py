import io
import json
import subprocess

from django.core.files.storage import default_storage
from PIL import Image

from media.models import Media
from tests.conftest import image_bytes

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


def probe(path):
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def processed(media_id):
    return Media.objects.get(pk=media_id)


def ready_photo(client, on_commit, size=(300, 200)):
    """A JPEG uploaded through the API and processed in-process: the ready Media row."""
    with on_commit(execute=True):
        response = post_file(client, image_bytes("JPEG", size=size), "p.jpg")
    media = Media.objects.get(pk=response.json()["id"])
    assert media.status == Media.Status.READY, media.error
    return media

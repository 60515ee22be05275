"""End to end: media uploaded over real HTTP to Daphne is processed by a real Celery worker.

The worker is started only after the upload and the post, so the "processing" and
"pending_media" states are seen for certain: the tasks wait in the Redis broker until it runs.
"""

import io
import os
import shutil
import subprocess
import time

import pytest
import requests
from PIL import Image

from tests.conftest import image_bytes, require
from tests.e2e.conftest import register_and_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
READY_SECONDS = 30


def require_broker():
    require(bool(BROKER_URL), "CELERY_BROKER_URL not set: a real worker needs a broker")


def upload(daphne, account, name, data, content_type, **fields):
    response = requests.post(
        f"{daphne.url}/api/v1/media",
        files={"file": (name, data, content_type)},
        data=fields,
        headers=account.auth,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "processing"
    return body


def create_post(daphne, account, **payload):
    response = requests.post(f"{daphne.url}/api/v1/posts", json=payload, headers=account.auth, timeout=15)
    assert response.status_code == 201, response.text
    return response.json()


def get_post(daphne, account, post_id):
    return requests.get(f"{daphne.url}/api/v1/posts/{post_id}", headers=account.auth, timeout=15)


def wait_for_media(daphne, account, media_id):
    """The media as its owner sees it, once it is no longer processing (or after READY_SECONDS)."""
    deadline = time.monotonic() + READY_SECONDS
    while True:
        response = requests.get(f"{daphne.url}/api/v1/media/{media_id}", headers=account.auth, timeout=15)
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] != "processing" or time.monotonic() > deadline:
            return body
        time.sleep(0.25)


def wait_for_visible(daphne, account, post_id):
    deadline = time.monotonic() + READY_SECONDS
    while True:
        response = get_post(daphne, account, post_id)
        if response.status_code != 404 or time.monotonic() > deadline:
            return response
        time.sleep(0.25)


def fetch_image(url):
    response = requests.get(url, timeout=15)
    assert response.status_code == 200, url
    return Image.open(io.BytesIO(response.content))


def test_an_image_post_waits_for_the_worker_then_shows_its_sepia_variants(request, daphne):
    require_broker()
    alice, bob = register_and_login(daphne.url), register_and_login(daphne.url)

    media = upload(daphne, alice, "photo.png", image_bytes(size=(1600, 1200), color=(40, 120, 220)), "image/png")
    post = create_post(
        daphne,
        alice,
        content_type="image",
        content="Morning light #e2e",
        media_ids=[media["id"]],
        filter="sepia",
    )
    assert post["status"] == "pending_media"
    assert post["media"][0]["status"] == "processing"
    # Pending: the author sees it, nobody else does.
    assert get_post(daphne, alice, post["id"]).status_code == 200
    assert get_post(daphne, bob, post["id"]).status_code == 404

    request.getfixturevalue("celery_worker")
    ready = wait_for_media(daphne, alice, media["id"])
    assert ready["status"] == "ready", ready
    assert ready["filter"] == "sepia"
    assert {"original", "medium", "thumbnail"} <= set(ready["variants"])
    assert ready["blurhash"]
    assert (ready["width"], ready["height"]) == (1600, 1200)

    response = wait_for_visible(daphne, bob, post["id"])
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["status"] == "published"
    assert seen["media_urls"] and len(seen["media"]) == 1
    variants = seen["media"][0]["variants"]
    assert {"original", "medium", "thumbnail"} <= set(variants)

    # The variant Daphne serves is a real, smaller, sepia-toned image: warm, not the blue upload.
    thumbnail = fetch_image(variants["thumbnail"]).convert("RGB")
    assert max(thumbnail.size) <= 320
    red, green, blue = thumbnail.getpixel((thumbnail.width // 2, thumbnail.height // 2))
    assert red > green > blue, (red, green, blue)


def test_a_video_post_becomes_ready_with_a_poster(request, daphne, tmp_path):
    require_broker()
    require(bool(shutil.which("ffmpeg")), "ffmpeg not installed (apt-get install ffmpeg)")
    alice, bob = register_and_login(daphne.url), register_and_login(daphne.url)

    clip = tmp_path / "clip.mp4"
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-v", "error", "-y"),
            *("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"),
            *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"),
            *("-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip)),
        ],
        check=True,
        timeout=120,
    )
    media = upload(daphne, alice, "clip.mp4", clip.read_bytes(), "video/mp4", alt_text="A test card")
    post = create_post(daphne, alice, content_type="video", content="One second of test card", media_ids=[media["id"]])
    assert post["status"] == "pending_media"
    assert get_post(daphne, bob, post["id"]).status_code == 404

    request.getfixturevalue("celery_worker")
    ready = wait_for_media(daphne, alice, media["id"])
    assert ready["status"] == "ready", ready
    assert {"video", "poster"} <= set(ready["variants"])
    assert ready["variants"]["video"]["content_type"] == "video/mp4"
    assert ready["duration"] == pytest.approx(1.0, abs=0.3)

    response = wait_for_visible(daphne, bob, post["id"])
    assert response.status_code == 200, response.text
    seen = response.json()["media"][0]
    assert seen["alt_text"] == "A test card"
    poster = fetch_image(seen["variants"]["poster"])
    assert poster.size == (320, 240)
    video = requests.get(seen["variants"]["video"], timeout=15)
    assert video.status_code == 200
    assert video.content[4:8] == b"ftyp"  # an MP4

"""The S3 path, against moto's S3-compatible server running as a real process."""

import os
import socket
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from django.core.files.storage import default_storage

from media.models import Media
from tests.conftest import image_bytes
from tests.media.conftest import post_file, processed, stored_image

BUCKET = "socialsite-media"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto server did not start")
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def bucket(s3_endpoint, settings, monkeypatch):
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    name = f"{BUCKET}-{os.urandom(4).hex()}"
    client.create_bucket(Bucket=name)
    # Changing STORAGES resets Django's storage handler and default_storage (setting_changed).
    options = {
        "bucket_name": name,
        "endpoint_url": s3_endpoint,
        "access_key": "test",
        "secret_key": "test",
        "region_name": "us-east-1",
        "file_overwrite": False,
        "querystring_auth": False,
    }
    backend = "storages.backends.s3.S3Storage"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": backend, "OPTIONS": options},
        "signed_media": {
            "BACKEND": backend,
            "OPTIONS": {**options, "querystring_auth": True, "signature_version": "s3v4"},
        },
    }
    assert default_storage.bucket_name == name  # the lazy default storage now is this S3 bucket

    def keys():
        return {item["Key"] for item in client.list_objects_v2(Bucket=name).get("Contents", [])}

    return keys


def upload(client, data, name, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(client, data, name)
    assert response.status_code == 202, response.content
    return processed(response.json()["id"])


@pytest.mark.django_db
def test_image_upload_and_processing_on_s3(user_api, bucket, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = post_file(user_api, image_bytes("JPEG", size=(1500, 1000)), "s3.jpg")
    media = processed(response.json()["id"])
    assert media.upload.name in bucket()  # the raw upload went to the bucket
    with django_capture_on_commit_callbacks(execute=True):
        from media import tasks

        tasks.process_media.delay(str(media.id))
    media = processed(media.id)
    assert media.status == Media.Status.READY, media.error
    keys = bucket()
    assert {variant["path"] for variant in media.variants.values()} <= keys
    assert not any(key.startswith("uploads/") for key in keys)  # the raw upload was deleted
    assert stored_image(media.variants["medium"]["path"]).size == (1080, 720)
    body = user_api.get(f"/api/v1/media/{media.id}").json()
    url = body["variants"]["original"]["url"]
    # Presigned: the bucket stays private (moto doesn't refuse unsigned reads; S3 does).
    assert url.startswith("http://127.0.0.1:") and "X-Amz-Signature=" in url
    expires = int(parse_qs(urlsplit(url).query)["X-Amz-Expires"][0])
    assert 2 * 3600 <= expires <= 3 * 3600
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200
    with default_storage.open(media.variants["original"]["path"]) as stored:
        assert fetched.content == stored.read()


@pytest.mark.django_db
def test_video_processing_on_s3(user_api, bucket, clip, django_capture_on_commit_callbacks):
    media = upload(user_api, clip(seconds=1), "clip.mp4", django_capture_on_commit_callbacks)
    assert media.status == Media.Status.READY, media.error
    keys = bucket()
    assert {variant["path"] for variant in media.variants.values()} <= keys
    assert any(key.endswith("/video.mp4") for key in keys) and any(key.endswith("/poster.jpg") for key in keys)
    assert not any(key.startswith("uploads/") for key in keys)

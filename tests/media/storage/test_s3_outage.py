"""S3 down: an upload (media or avatar) is refused at once with a 503 in the API's envelope
(Retry-After), leaving nothing behind; existing media still answer with their URLs; once S3 is
back and the reset time has passed, uploads work again by themselves. S3 is moto's server, in a thread, stopped and
started again on the same port."""

import io

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from media.models import Media
from socialsite import breakers
from tests.conftest import image_bytes
from tests.media.conftest import post_file
from tests.outage import closed_port, half_open_soon, timed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_breakers")]
BUCKET = "socialsite-outage"


@pytest.fixture
def s3(settings, monkeypatch):
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    port = closed_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1"
    )
    client.create_bucket(Bucket=BUCKET)
    options = {
        "bucket_name": BUCKET,
        "endpoint_url": endpoint,
        "access_key": "t",
        "secret_key": "t",
        "region_name": "us-east-1",
        "file_overwrite": False,
        "querystring_auth": False,
        "client_config": Config(retries={"mode": "standard", "max_attempts": 1}),  # one call, one request
    }
    backend = "socialsite.storages.S3Storage"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": backend, "OPTIONS": options},
        "signed_media": {"BACKEND": backend, "OPTIONS": {**options, "querystring_auth": True}},
    }

    class S3:
        def keys(self):
            return {item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}

        def stop(self):
            server.stop()

        def start(self):
            nonlocal server
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()

    yield S3()
    server.stop()


def upload(api):
    return post_file(api, image_bytes("JPEG", size=(64, 48)), "outage.jpg")


def test_uploads_refused_fast_while_s3_is_down_and_back_by_themselves(user_api, user, settings, s3):
    response = upload(user_api)
    assert response.status_code == 202, response.content
    existing = response.json()["id"]
    stored = s3.keys()
    assert len(stored) == 1

    s3.stop()
    failing_ms = []
    for _ in range(settings.BREAKER_FAIL_MAX):
        with timed(failing_ms):
            response = upload(user_api)
        assert response.status_code == 503, response.content
        assert response.json()["error"]["code"] == "storage_unavailable"
        assert int(response["Retry-After"]) >= 1
    assert breakers.is_open("s3")
    assert Media.objects.count() == 1  # nothing half-written

    # S3 is back, but the breaker is still open: refused without a request to S3.
    s3.start()
    open_ms = []
    with timed(open_ms):
        response = upload(user_api)
    assert response.status_code == 503 and response.json()["error"]["code"] == "storage_unavailable"
    assert 1 <= int(response["Retry-After"]) <= settings.BREAKER_RESET_SECONDS
    assert s3.keys() == stored and Media.objects.count() == 1
    print(
        f"upload refused while failing: {min(failing_ms):.0f}-{max(failing_ms):.0f} ms; while open: {open_ms[0]:.0f} ms"
    )

    # An avatar is an upload too.
    avatar = io.BytesIO(image_bytes("PNG", size=(64, 64)))
    avatar.name = "me.png"
    response = user_api.put(f"/api/v1/users/{user.pk}/avatar", {"avatar": avatar}, format="multipart")
    assert response.status_code == 503 and response.json()["error"]["code"] == "storage_unavailable"
    assert s3.keys() == stored

    # Existing media still answer (their URLs are made without asking S3).
    response = user_api.get(f"/api/v1/media/{existing}")
    assert response.status_code == 200, response.content

    half_open_soon(settings)
    response = upload(user_api)
    assert response.status_code == 202, response.content
    assert len(s3.keys()) == 2
    assert breakers.breaker("s3").current_state == "closed"

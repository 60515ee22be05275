"""Web Push against a real local HTTP server standing in for a browser's push service (the third
party's network edge), and browser keys made here, so each push can be decrypted and read."""

import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from notifications import push


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class BrowserKeys:
    """What a browser keeps for one subscription: a P-256 key pair and a 16-byte auth secret."""

    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.p256dh = b64url(point)
        self.secret = os.urandom(16)
        self.auth = b64url(self.secret)

    def decrypt(self, body: bytes) -> dict:
        import http_ece

        return json.loads(
            http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.secret, version="aes128gcm")
        )


class PushService:
    """A push service on a free loopback port: records every request, answers `status[path]` (201)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status: dict[str, int] = {}
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                service.requests.append(
                    {
                        "path": self.path,
                        "headers": {name.lower(): value for name, value in self.headers.items()},
                        "body": body,
                    }
                )
                self.send_response(service.status.get(self.path, 201))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def to(self, path: str) -> list[dict]:
        return [request for request in self.requests if request["path"] == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def push_service():
    service = PushService()
    yield service
    service.close()


@pytest.fixture
def vapid(settings):
    """Push on, with a new VAPID pair, and the local push service's origin allowed."""
    pair = push.keys()
    settings.WEBPUSH_VAPID_PUBLIC_KEY = pair["public_key"]
    settings.WEBPUSH_VAPID_PRIVATE_KEY = pair["private_key"]
    settings.WEBPUSH_VAPID_SUBJECT = "mailto:ops@socialsite.test"
    settings.WEBPUSH_ENDPOINT_HOSTS = [*settings.WEBPUSH_ENDPOINT_HOSTS, "http://127.0.0.1"]
    settings.WEBPUSH_TIMEOUT = 5.0
    return pair


@pytest.fixture
def subscribe(vapid, push_service):
    """subscribe(user, path="/push/<n>") -> (PushSubscription, BrowserKeys), saved through the service."""
    made = []

    def make(user, path=None):
        keys = BrowserKeys()
        path = path or f"/push/{len(made)}"
        subscription, _ = push.subscribe(user=user, endpoint=push_service.url(path), p256dh=keys.p256dh, auth=keys.auth)
        made.append(subscription)
        return subscription, keys

    return make

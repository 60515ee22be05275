"""Web Push end to end: real Daphne and (with a broker) a real notification worker, a real local
push service. A browser's subscription is saved over REST, a like made over REST, and the push
that reaches the push service decrypts with the browser's keys to the like's line."""

import os

import pytest
import requests

from notifications import push
from tests.e2e.conftest import register_and_login, wait_until
from tests.notifications.push.conftest import BrowserKeys, PushService

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def call(daphne, account, method, path, **kwargs):
    response = requests.request(method, f"{daphne.url}/api/v1{path}", headers=account.auth, timeout=15, **kwargs)
    assert response.status_code < 400, (method, path, response.status_code, response.text)
    return response.json() if response.content else None


def test_a_like_is_pushed_by_the_worker(request, service_env, start_daphne):
    service = PushService()
    request.addfinalizer(service.close)
    pair = push.keys()
    service_env.update(
        WEBPUSH_VAPID_PUBLIC_KEY=pair["public_key"],
        WEBPUSH_VAPID_PRIVATE_KEY=pair["private_key"],
        WEBPUSH_ENDPOINT_HOSTS="http://127.0.0.1",
    )
    if os.environ.get("CELERY_BROKER_URL"):  # tasks go to the broker: the notification worker sends
        request.getfixturevalue("celery_worker")
    daphne = start_daphne()
    ana, bo = register_and_login(daphne.url), register_and_login(daphne.url)

    assert call(daphne, ana, "GET", "/push/key") == {"enabled": True, "public_key": pair["public_key"]}
    keys = BrowserKeys()
    subscription = {"endpoint": service.url("/push/ana"), "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}
    call(daphne, ana, "POST", "/push/subscriptions", json=subscription)
    post = call(daphne, ana, "POST", "/posts", json={"content": "Pushed along"})
    call(daphne, bo, "POST", f"/posts/{post['id']}/likes")

    assert wait_until(lambda: service.requests, timeout=30)
    data = keys.decrypt(service.requests[0]["body"])
    assert data["title"] == f"{bo.username} liked your post" and data["url"] == f"/posts/{post['id']}/"
    # Liking again changes nothing, and nothing is sent twice.
    call(daphne, bo, "POST", f"/posts/{post['id']}/likes")
    assert not wait_until(lambda: len(service.requests) > 1, timeout=2)

"""REST for Web Push: the VAPID key, and saving and forgetting a browser's subscription
(validated, owner only, an upsert by endpoint so a replay changes nothing)."""

import threading
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client

from notifications.models import PushSubscription
from tests.notifications.push.conftest import BrowserKeys, b64url
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

URL = "/api/v1/push/subscriptions"
ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc123"


def body(endpoint=ENDPOINT, keys=None):
    keys = keys or BrowserKeys()
    return {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}


def test_the_key_says_whether_push_is_on(ana, client_for, settings, vapid, api):
    assert client_for(ana).get("/api/v1/push/key").json() == {"enabled": True, "public_key": vapid["public_key"]}
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    assert client_for(ana).get("/api/v1/push/key").json() == {"enabled": False, "public_key": None}
    assert_error(api.get("/api/v1/push/key"), 401)


def test_subscribe_is_an_upsert_by_endpoint(ana, client_for, vapid):
    first = client_for(ana).post(URL, body(), format="json")
    assert first.status_code == 201, first.content
    assert set(first.json()) == {"id", "endpoint", "created_at"} and first.json()["endpoint"] == ENDPOINT
    saved = PushSubscription.objects.get()
    # The same request again (a retry, a double click): the same row, 200.
    again = client_for(ana).post(URL, {**body(), "keys": {"p256dh": saved.p256dh, "auth": saved.auth}}, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    # The browser made new keys for the same endpoint: they replace the old ones.
    keys = BrowserKeys()
    assert client_for(ana).post(URL, body(keys=keys), format="json").status_code == 200
    saved.refresh_from_db()
    assert (saved.p256dh, saved.auth, PushSubscription.objects.count()) == (keys.p256dh, keys.auth, 1)


def test_an_endpoint_moves_to_whoever_subscribes_there_last(ana, bo, client_for, vapid):
    client_for(ana).post(URL, body(), format="json")
    assert client_for(bo).post(URL, body(), format="json").status_code == 200
    assert PushSubscription.objects.get().user == bo


def test_unsubscribe_is_owner_only_and_idempotent(ana, bo, client_for, vapid):
    client_for(ana).post(URL, body(), format="json")
    # Someone else naming ana's endpoint: 204 as always, and hers stays.
    gone = f"{URL}?{urlencode({'endpoint': ENDPOINT})}"
    assert client_for(bo).delete(gone).status_code == 204
    assert PushSubscription.objects.filter(user=ana).exists()
    assert client_for(ana).delete(gone).status_code == 204
    assert not PushSubscription.objects.exists()
    assert client_for(ana).delete(gone).status_code == 204  # replayed
    assert "endpoint" in assert_error(client_for(ana).delete(URL), 400, "invalid")["fields"]
    assert "colour" in assert_error(client_for(ana).delete(f"{gone}&colour=red"), 400, "invalid")["fields"]
    assert "endpoint" in assert_error(client_for(ana).delete(f"{URL}?endpoint={'x' * 1001}"), 400)["fields"]


def test_push_off_refuses_subscriptions(ana, client_for):
    assert_error(client_for(ana).post(URL, body(), format="json"), 409, "push_disabled")


def test_signed_out_is_401(api, vapid):
    assert_error(api.post(URL, body(), format="json"), 401)
    assert_error(api.delete(f"{URL}?{urlencode({'endpoint': ENDPOINT})}"), 401)


GOOD = BrowserKeys()


@pytest.mark.parametrize(
    "payload, field",
    [
        (body("http://fcm.googleapis.com/fcm/send/x"), "endpoint"),  # not https
        (body("https://evil.example/fcm/send/x"), "endpoint"),  # not a push service
        (body("https://fcm.googleapis.com"), "endpoint"),  # no path
        (body("https://user:pw@fcm.googleapis.com/x"), "endpoint"),
        (body("https://fcm.googleapis.com:99999/x"), "endpoint"),
        (body("https://fcm.googleapis.com/" + "x" * 1000), "endpoint"),  # oversized
        (body("https://fcm.googleapis.com/a b"), "endpoint"),
        ({**body(), "endpoint": ["x"]}, "endpoint"),
        ({**body(), "keys": {"p256dh": GOOD.p256dh[:-4], "auth": GOOD.auth}}, "p256dh"),  # too short
        ({**body(), "keys": {"p256dh": "A" + GOOD.p256dh[1:], "auth": GOOD.auth}}, "p256dh"),  # not a point
        ({**body(), "keys": {"p256dh": GOOD.p256dh[:-1] + "*", "auth": GOOD.auth}}, "p256dh"),  # not base64url
        ({**body(), "keys": {"p256dh": GOOD.p256dh, "auth": b64url(b"x" * 15)}}, "auth"),
        ({**body(), "keys": {"p256dh": GOOD.p256dh, "auth": "x" * 300}}, "keys"),
        ({**body(), "keys": {"p256dh": GOOD.p256dh, "auth": "A" * 40}}, "auth"),  # long for 16 bytes
        ({**body(), "keys": {"p256dh": GOOD.p256dh, "auth": "AAAAA"}}, "auth"),  # no base64 has that length
        ({**body(), "keys": {"p256dh": GOOD.p256dh}}, "keys"),
        ({**body(), "keys": "p256dh"}, "keys"),
        ({"keys": body()["keys"]}, "endpoint"),
    ],
)
def test_malformed_subscriptions_are_400(ana, client_for, vapid, payload, field):
    error = assert_error(client_for(ana).post(URL, payload, format="json"), 400)
    assert field in error["fields"], error
    assert not PushSubscription.objects.exists()


def test_a_user_keeps_the_newest_subscriptions(ana, client_for, vapid, settings):
    settings.WEBPUSH_MAX_SUBSCRIPTIONS = 2
    for n in range(3):
        client_for(ana).post(URL, body(f"{ENDPOINT}/{n}"), format="json")
    assert sorted(PushSubscription.objects.values_list("endpoint", flat=True)) == [f"{ENDPOINT}/1", f"{ENDPOINT}/2"]


def test_pages_call_it_with_the_session_and_the_csrf_token(ana, vapid):
    """As static/js/pwa.js does: the session cookie, and the page's token in X-CSRFToken."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(ana)
    assert_error(browser.post(URL, body(), content_type="application/json"), 403)
    page = browser.get("/settings/notifications/")
    token = page.context["csrf_token"]
    answer = browser.post(URL, body(), content_type="application/json", headers={"X-CSRFToken": str(token)})
    assert answer.status_code == 201, answer.content


@pytest.mark.django_db(transaction=True)
def test_concurrent_subscribes_of_one_endpoint_make_one_row(vapid, client_for):
    from tests.factories import UserFactory

    people = [UserFactory(username=f"racer{n}") for n in range(4)]
    barrier = threading.Barrier(len(people))
    answers = []

    def subscribe(person):
        try:
            barrier.wait()
            answers.append(client_for(person).post(URL, body(), format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=subscribe, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 200, 200, 201]  # one made it, the others found it (and took it over)
    assert PushSubscription.objects.count() == 1

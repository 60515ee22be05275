"""In Chromium: the app installs (a valid manifest, a service worker that controls the page),
shows its offline page when a navigation fails offline, asks for notification permission only
after the "Turn on push notifications" click, and shows a like's push.

Headless Chromium on a closed network can't reach a real push service, so the browser's own
push edge is stood in for: PushManager.subscribe answers with an endpoint on a local push
service (tests/notifications/push/conftest.py) and keys made here, and the push that service
receives is decrypted and handed to the service worker through DevTools
(ServiceWorker.deliverPushMessage), as the browser would. Everything of the site's is real: the
page's script, the REST call, the notification worker's task, pywebpush and the worker's push
handler.
"""

import json

import pytest

from notifications import push
from notifications.models import PushSubscription
from posts import services as post_services
from tests.browser.conftest import SCREENSHOTS, sign_in
from tests.conftest import wait_for_js
from tests.factories import UserFactory
from tests.notifications.push.conftest import BrowserKeys, PushService

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

# The browser's push edge: counts permission requests and subscribes, answers with our endpoint.
FAKE_PUSH_EDGE = """
window.__push = { permission: 0, subscribe: 0 };
const ask = Notification.requestPermission.bind(Notification);
Notification.requestPermission = function () { window.__push.permission += 1; return ask(); };
PushManager.prototype.subscribe = function (options) {
  window.__push.subscribe += 1;
  window.__push.keyBytes = new Uint8Array(options.applicationServerKey).length;
  const json = { endpoint: %(endpoint)s, expirationTime: null, keys: { p256dh: %(p256dh)s, auth: %(auth)s } };
  window.__push.subscription = {
    endpoint: json.endpoint,
    toJSON: () => json,
    unsubscribe: () => { window.__push.subscription = null; return Promise.resolve(true); },
  };
  return Promise.resolve(window.__push.subscription);
};
PushManager.prototype.getSubscription = function () { return Promise.resolve(window.__push.subscription || null); };
"""

NOTIFICATIONS_SHOWN = """() => navigator.serviceWorker.ready
  .then((registration) => registration.getNotifications())
  .then((shown) => shown.map((n) => ({ title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url })))"""


@pytest.fixture
def push_service():
    service = PushService()
    yield service
    service.close()


def test_installable_offline_and_push_after_a_click(browser, live_server, settings, push_service):
    from playwright.sync_api import expect

    pair = push.keys()
    settings.WEBPUSH_VAPID_PUBLIC_KEY, settings.WEBPUSH_VAPID_PRIVATE_KEY = pair["public_key"], pair["private_key"]
    settings.WEBPUSH_ENDPOINT_HOSTS = ["http://127.0.0.1"]
    ana, bo = UserFactory(username="ana_pwa"), UserFactory(username="bo_pwa")
    post = post_services.post_create(author=ana, content_type="text", content="Sunrise")
    keys = BrowserKeys()
    endpoint = push_service.url("/push/ana")

    context = browser.new_context(viewport={"width": 390, "height": 844}, permissions=["notifications"])
    context.add_init_script(
        FAKE_PUSH_EDGE
        % {
            name: json.dumps(value)
            for name, value in [("endpoint", endpoint), ("p256dh", keys.p256dh), ("auth", keys.auth)]
        }
    )
    page = context.new_page()
    problems = []
    # The live server speaks WSGI only: the page's socket fails, which is no concern here.
    page.on("console", lambda msg: msg.type == "error" and "/ws/" not in msg.text and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    sign_in(page, live_server.url, ana.username)

    # Installable: the manifest parses without errors, and the worker controls the page.
    cdp = context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"] == f"{live_server.url}/manifest.webmanifest" and manifest["errors"] == []
    wait_for_js(page, "() => navigator.serviceWorker.controller !== null")
    assert page.evaluate("() => navigator.serviceWorker.controller.scriptURL") == f"{live_server.url}/sw.js"
    # Nothing keeps it from installing but the test's incognito profile.
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert [error["errorId"] for error in errors if error["errorId"] != "in-incognito"] == []

    # Offline, a page that can't load shows the offline page instead of the browser's error.
    context.set_offline(True)
    page.goto(f"{live_server.url}/notifications/")
    expect(page.get_by_role("heading", name="You're offline")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "pwa-offline.png"))
    context.set_offline(False)

    # Nothing is asked on load; the click asks, subscribes with the server's key and saves it.
    page.goto(f"{live_server.url}/settings/notifications/")
    button = page.get_by_role("button", name="Turn on push notifications")
    expect(button).to_be_visible()
    assert page.evaluate("() => [window.__push.permission, window.__push.subscribe]") == [0, 0]
    assert not PushSubscription.objects.exists()
    button.click()
    expect(page.locator("[data-push-status]")).to_have_text("Push notifications are on for this device.")
    assert page.evaluate("() => [window.__push.permission, window.__push.subscribe, window.__push.keyBytes]") == [
        1,
        1,
        65,
    ]
    saved = PushSubscription.objects.get()
    assert (saved.user, saved.endpoint, saved.p256dh, saved.auth) == (ana, endpoint, keys.p256dh, keys.auth)
    expect(page.get_by_role("button", name="Turn off push notifications")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "pwa-push-on.png"))

    # bo likes ana's post: the notification worker pushes it; the browser shows it.
    post_services.like_create(user=bo, post_id=post.pk)
    [request] = push_service.requests
    data = keys.decrypt(request["body"])
    assert data["title"] == "bo_pwa liked your post" and data["url"] == f"/posts/{post.pk}/"
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    wait_for_js(page, "() => true")  # let the registration event arrive
    [registration] = [reg for reg in registrations if reg["scopeURL"] == f"{live_server.url}/"]
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server.url, "registrationId": registration["registrationId"], "data": json.dumps(data)},
    )
    shown = wait_for_js(page, NOTIFICATIONS_SHOWN)
    assert shown == [
        {"title": data["title"], "body": "", "tag": data["tag"], "url": f"{live_server.url}/posts/{post.pk}/"}
    ]

    # Turning it off forgets the subscription on the server.
    page.get_by_role("button", name="Turn off push notifications").click()
    expect(page.locator("[data-push-status]")).to_have_text("Push notifications are off for this device.")
    assert not PushSubscription.objects.exists()

    # On again, then signing out forgets it too: the next person on this device gets none of ana's.
    page.get_by_role("button", name="Turn on push notifications").click()
    expect(page.locator("[data-push-status]")).to_have_text("Push notifications are on for this device.")
    assert PushSubscription.objects.filter(user=ana).exists()
    page.locator("summary[aria-label^=More]").click()  # on a phone, Sign out is in the More menu
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(lambda url: "/settings/" not in url)
    expect(page.locator("body.has-nav")).to_have_count(0)
    assert not PushSubscription.objects.exists()
    assert problems == []

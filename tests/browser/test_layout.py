"""The mobile-first layout in Chromium against a real Daphne, over every main page.

At 320×640, 390×844 and 1280×800 (one page resized, as a phone turned or a window dragged):
no horizontal scroll at any width; at 390 a top bar of at most 56 px and a bottom tab bar of six
tabs with the unread counts, kept live by the socket; at 1280 the same navigation as a side
column and no tab bar. Signed out: a top bar with Log in and Sign up, no tab bar. Dark mode
gets other colours. axe finds nothing serious or critical, no page throws or breaks the CSP.
Screenshots: layout-<page>-<width>.png in the browser tests' folder.
"""

import pytest

from messaging.services import message_send
from notifications.models import Notification
from notifications.services import notify
from posts.services import post_create
from tests.browser.conftest import SCREENSHOTS, serious_axe_violations, sign_in
from tests.conftest import wait_for_js
from tests.e2e.conftest import service_env, spawn, start_daphne  # noqa: F401  (fixtures)
from tests.factories import FollowFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

EVENT_WAIT_MS = 20000  # an upper bound for an event to arrive, not a measurement
PHONE = {"width": 390, "height": 844}
SMALL = {"width": 320, "height": 640}
TABLET = {"width": 820, "height": 1180}
DESKTOP = {"width": 1280, "height": 800}
LONG_WORD = "https://example.com/" + "a-very-long-path-that-would-push-the-page-sideways-" * 3

OVERFLOW = "document.scrollingElement.scrollWidth - window.innerWidth"
# What sticks out on the right, to name in a failure.
WIDE = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .slice(0, 8).map(e => e.tagName + "." + (e.getAttribute("class") || "") + ' ' + Math.round(e.getBoundingClientRect().right))"""
TAB_BAR = """() => {
  const nav = document.querySelector('nav.nav');
  if (!nav) return null;
  const box = nav.getBoundingClientRect();
  const tabs = [...nav.querySelectorAll('.nav__list > li > a')].filter(a => a.getBoundingClientRect().width > 0);
  return {position: getComputedStyle(nav).position, top: box.top, bottom: box.bottom,
          width: box.width, tabs: tabs.length};
}"""


@pytest.fixture
def server(service_env, start_daphne):  # noqa: F811
    service_env["THROTTLE_MESSAGE"] = "10000/1m"  # the Redis cache outlives runs
    return start_daphne()


class Watched:
    """A page whose script errors, console errors and CSP complaints are kept."""

    def __init__(self, context):
        self.page = context.new_page()
        self.problems = []
        self.page.on("console", lambda msg: msg.type == "error" and self.problems.append(msg.text))
        self.page.on("pageerror", lambda exc: self.problems.append(str(exc)))


def check_widths(watched, name, *, signed_in):
    """The page as loaded, at the three widths: no sideways scroll, the navigation where it belongs."""
    page = watched.page
    for viewport in (SMALL, PHONE, TABLET, DESKTOP):
        page.set_viewport_size(viewport)
        width = viewport["width"]
        assert page.evaluate(OVERFLOW) <= 0, (name, width, page.evaluate(WIDE))
        header = page.locator(".site-header").bounding_box()
        assert header["height"] <= 56, f"{name}: the top bar is {header['height']} px at {width}"
        bar = page.evaluate(TAB_BAR)
        if not signed_in:
            assert bar is None, f"{name}: a tab bar signed out"
        elif width < 768:
            assert bar["position"] == "fixed" and bar["bottom"] == viewport["height"], (name, width, bar)
            assert bar["tabs"] == 6 and bar["bottom"] - bar["top"] <= 64, (name, width, bar)
        else:
            assert bar["position"] == "sticky" and bar["width"] <= 260 and bar["tabs"] == 6, (name, bar)
        if viewport not in (PHONE, DESKTOP):
            continue
        page.evaluate("window.scrollTo(0, 0)")
        # A phone shows one screen (a full-page shot would put the fixed tab bar mid-page); a desktop the page.
        page.screenshot(path=str(SCREENSHOTS / f"layout-{name}-{width}.png"), full_page=width >= 768)
        # The whole page at 390; at 1280 the same content in a wider column, so the bars only (a second
        # whole-page run costs a second a page and finds nothing new).
        region = (
            None
            if viewport == PHONE
            else {"include": [[".site-header"], ["nav.nav"]] if signed_in else [[".site-header"]]}
        )
        assert serious_axe_violations(page, region) == [], f"{name} at {width}"


def test_layout_on_every_main_page(browser, server):
    from playwright.sync_api import expect

    ana = UserFactory(username="ana")
    bo = UserFactory(username="bo")
    bo.profile.display_name = "Bo Lindqvist"
    bo.profile.save()
    FollowFactory(follower=ana, followed=bo)
    FollowFactory(follower=bo, followed=ana)
    post = post_create(author=bo, content_type="text", content=f"Morning swim #sea {LONG_WORD}")
    for n in range(19):  # with bo's, a full first page of the home feed (20)
        post_create(author=ana, content_type="text", content=f"Note {n}: the tide is out, the pier is long.")
    notify(kind="like", actor=bo, recipient_ids=[ana.pk], key=f"like:{post.pk}:{bo.pk}", post=post)
    notify(kind="follow", actor=bo, recipient_ids=[ana.pk], key=f"follow:{bo.pk}:{ana.pk}")
    message, _ = message_send(sender=bo, content="Are you coming to the pier?", receiver_id=ana.pk)
    message_send(sender=bo, content=f"Here is the map: {LONG_WORD}", receiver_id=ana.pk)
    conversation = f"/messages/{message.conversation_id}/"

    # Signed out: a top bar with Log in and Sign up, no tab bar.
    visitor = Watched(browser.new_context(viewport=PHONE))
    for name, path in (("welcome", "/"), ("login", "/accounts/login/"), ("signup", "/accounts/signup/")):
        visitor.page.goto(f"{server.url}{path}")
        main_nav = visitor.page.get_by_role("navigation", name="Main")
        expect(main_nav.get_by_role("link", name="Log in")).to_be_visible()
        expect(main_nav.get_by_role("link", name="Sign up")).to_be_visible()
        check_widths(visitor, name, signed_in=False)
    assert visitor.problems == []

    me = Watched(browser.new_context(viewport=DESKTOP))
    page = me.page
    sign_in(page, server.url, "ana")  # Sign out in sight: the side navigation lists it
    page.set_viewport_size(PHONE)

    # The home page with 20 posts, on a first visit (nothing cached): ≤ 40 requests, ≤ 600 KB.
    fresh = browser.new_context(viewport=PHONE, storage_state=page.context.storage_state())
    first = Watched(fresh)
    loaded = []
    first.page.on("requestfinished", lambda request: loaded.append(request))
    first.page.goto(f"{server.url}/")
    wait_for_js(first.page, "window.realtime && window.realtime.connected", timeout_ms=EVENT_WAIT_MS)
    first.page.wait_for_load_state("networkidle")
    assert first.page.locator("article.post").count() == 20
    sizes = [request.sizes() for request in loaded]
    total = sum(size["responseBodySize"] + size["responseHeadersSize"] for size in sizes)
    assert len(loaded) <= 40 and total <= 600 * 1024, (len(loaded), total, [r.url for r in loaded])
    assert first.problems == []
    fresh.close()
    wait_for_js(page, "window.realtime && window.realtime.connected", timeout_ms=EVENT_WAIT_MS)

    # The tab bar holds the counts; the secondary destinations are in the More menu.
    bell = page.locator("[data-notifications-bell]")
    unread = Notification.objects.filter(recipient=ana, read_at=None).count()  # the like, the follow, a message's
    assert unread >= 2
    expect(bell).to_have_attribute("aria-label", f"Notifications, {unread} unread")
    expect(bell.locator("[data-notifications-unread]")).to_have_text(str(unread))
    expect(page.locator("[data-chat-nav] [data-chat-unread]")).to_contain_text("2")
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    page.get_by_label("More").click()
    expect(page.get_by_role("link", name="Settings")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.locator("main").click(position={"x": 5, "y": 5})  # a tap elsewhere closes it
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    page.get_by_label("More").click()
    page.keyboard.press("Escape")  # and so does Escape
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    # Read elsewhere (here through the API): the socket clears the bell's count live.
    page.evaluate(
        """() => fetch('/api/v1/notifications/read-all', {method: 'POST', credentials: 'same-origin',
             headers: {'Content-Type': 'application/json',
                       'X-CSRFToken': JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']},
             body: '{}'})"""
    )
    expect(bell).to_have_attribute("aria-label", "Notifications", timeout=EVENT_WAIT_MS)
    expect(bell.locator("[data-notifications-unread]")).to_be_hidden()

    pages = (
        ("home", "/"),
        ("compose", "/posts/new/"),
        ("post", f"/posts/{post.pk}/"),
        ("profile", "/u/ana/"),
        ("search", "/search/?q=pier"),
        ("explore", "/explore/"),
        ("notifications", "/notifications/"),
        ("inbox", "/messages/"),
        ("conversation", conversation),
        ("settings", "/settings/profile/"),
    )
    for name, path in pages:
        page.set_viewport_size(PHONE)
        page.goto(f"{server.url}{path}")
        wait_for_js(page, "window.realtime && window.realtime.connected", timeout_ms=EVENT_WAIT_MS)
        if name == "conversation":
            # Opening it reads it: the Messages tab's count goes, live.
            expect(page.locator("[data-chat-nav] [data-chat-unread]")).to_have_count(0, timeout=EVENT_WAIT_MS)
        check_widths(me, name, signed_in=True)

    # Dark mode: the same page in other colours, still readable.
    page.set_viewport_size(PHONE)
    page.goto(f"{server.url}/")
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert dark != light
    page.screenshot(path=str(SCREENSHOTS / "layout-home-dark-390.png"))
    assert serious_axe_violations(page) == []

    assert me.problems == []

"""The notification pages render for their owner, send everyone else to the login page, and show
the grouped list with the header bell's unread count."""

import re

import pytest
from django.urls import reverse

from notifications.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def lines(html):
    """[(classes, text)] of the list's lines, in order."""
    found = re.findall(
        r'<li class="(notification[^"]*)"[^>]*>.*?data-notification-text>([^<]*)</span>', html, flags=re.DOTALL
    )
    return [(classes, text.strip()) for classes, text in found]


def bell(html):
    match = re.search(r'<a class="nav__link nav__bell"[^>]*>', html)
    return match.group(0) if match else None


@pytest.mark.parametrize(
    "name",
    ["notifications", "notification_settings"],
)
def test_anonymous_visitors_are_sent_to_log_in(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login")) and "next=" in response["Location"]


@pytest.mark.parametrize("name", ["notification_open", "notifications_read_all"])
def test_anonymous_posts_are_sent_to_log_in(client, name):
    response = client.post(reverse(name), {"group_key": "like:x:1"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_anonymous_bell_toggles_are_sent_to_log_in(client, ana):
    for name in ("bell_on", "bell_off"):
        response = client.post(reverse(name, args=[ana.pk]))
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_the_pages_render_for_their_owner(client, ana):
    client.force_login(ana)
    page = client.get(reverse("notifications")).content.decode()
    assert "No notifications yet." in page
    assert 'action="/notifications/read-all/"' in page
    settings_page = client.get(reverse("notification_settings")).content.decode()
    assert "Notify me when" in settings_page
    assert "No bells on." in settings_page


def test_the_header_bell_shows_the_unread_count_on_every_page(client, ana, bo, cy, post_by, like, follow):
    client.force_login(ana)
    tag = bell(client.get(reverse("home")).content.decode())
    assert 'data-count="0"' in tag and 'aria-label="Notifications"' in tag
    assert "data-notifications-unread hidden" in client.get(reverse("home")).content.decode()

    post = post_by(ana)
    like(bo, post)
    like(cy, post)
    follow(bo, ana)
    for url in (reverse("home"), reverse("profile", args=[ana.username]), reverse("messages_inbox")):
        html = client.get(url).content.decode()
        assert 'data-count="3"' in bell(html) and 'aria-label="Notifications, 3 unread"' in bell(html), url
        assert re.search(r"data-notifications-unread>3</span>", html), url
    assert 'src="/static/js/notifications.js"' in html


def test_signed_out_pages_have_no_bell(client):
    html = client.get(reverse("home")).content.decode()
    assert bell(html) is None and "notifications.js" not in html


def test_a_big_count_is_capped_in_the_badge_not_in_the_label(client, ana, bo, requests_from):
    requests_from(bo, ana, 120)
    client.force_login(ana)
    html = client.get(reverse("home")).content.decode()
    assert 'aria-label="Notifications, 120 unread"' in bell(html)
    assert "data-notifications-unread>99+</span>" in html


def test_the_list_groups_lines_newest_first(client, ana, bo, cy, post_by, like, comment, follow, dm):
    post = post_by(ana, content="sunset")
    like(bo, post)
    like(cy, post)
    dave = UserFactory(username="dave")
    like(dave, post)
    comment(cy, post, "what a view")
    follow(bo, ana)
    dm(cy, ana, "hey ana")
    client.force_login(ana)

    html = client.get(reverse("notifications")).content.decode()

    found = lines(html)
    assert found[:3] == [
        ("notification notification--unread", "cy sent you a message"),
        ("notification notification--unread", "bo followed you"),
        ("notification notification--unread", "cy commented on your post"),
    ]
    # The grouped line names its three actors, newest first (the words are selectors.group_payload's).
    classes, text = found[3]
    assert classes == "notification notification--unread" and len(found) == 4
    assert text.startswith("dave, cy") and text.endswith("bo liked your post")
    assert "“what a view”" in html
    assert html.count('<input type="hidden" name="group_key"') == 4
    assert 'data-url="' + reverse("post_detail", args=[post.pk]) + '"' in html
    assert "Unread</span>" in html
    # Three avatars on the grouped line (placeholders: the factory's users have no photo).
    like_line = html[html.index('data-type="like"') :]
    assert like_line[: like_line.index("</li>")].count('class="avatar avatar--sm') == 3


def test_a_big_group_names_three_and_counts_the_others(client, ana, post_by, like):
    post = post_by(ana)
    for i in range(5):
        like(UserFactory(username=f"fan{i}"), post)
    client.force_login(ana)
    [(_, text)] = lines(client.get(reverse("notifications")).content.decode())
    assert text == "fan4, fan3, fan2 and 2 others liked your post"


def test_read_lines_lose_the_unread_styling(client, ana, bo, post_by, like, follow):
    like(bo, post_by(ana))
    follow(bo, ana)
    Notification.objects.filter(recipient=ana, type="like").update(read_at="2024-01-01T00:00:00Z")
    client.force_login(ana)
    assert lines(client.get(reverse("notifications")).content.decode()) == [
        ("notification notification--unread", "bo followed you"),
        ("notification", "bo liked your post"),
    ]


def test_older_pages_follow_the_cursor(client, ana, bo, requests_from):
    requests_from(bo, ana, 25)
    client.force_login(ana)

    first = client.get(reverse("notifications")).content.decode()
    assert len(lines(first)) == 20
    older = re.search(r'href="(/notifications/\?before=[^"]+)" rel="next">Older</a>', first).group(1)
    assert "%2B" in older or "Z" in older  # the offset's "+" is escaped
    second = client.get(older.replace("&amp;", "&")).content.decode()
    assert len(lines(second)) == 5
    assert 'rel="next">Older</a>' not in second
    assert "Back to the newest" in second and "data-live" not in second

    keys = re.findall(r'name="group_key" value="([^"]+)"', first) + re.findall(
        r'name="group_key" value="([^"]+)"', second
    )
    assert len(keys) == len(set(keys)) == 25


def test_a_bad_cursor_is_a_bad_request(client, ana):
    client.force_login(ana)
    response = client.get(reverse("notifications"), {"before": "yesterday"})
    assert response.status_code == 400
    assert "date and time" in response.content.decode()


def test_htmx_gets_only_the_list(client, ana, bo, follow):
    follow(bo, ana)
    client.force_login(ana)
    response = client.get(reverse("notifications"), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "Mark all as read" not in html
    assert lines(html) == [("notification notification--unread", "bo followed you")]


def test_the_list_shows_only_the_viewers_own(client, ana, bo, cy, post_by, like):
    like(bo, post_by(cy))  # cy's
    client.force_login(ana)
    assert lines(client.get(reverse("notifications")).content.decode()) == []


def test_the_settings_nav_links_the_notification_settings(client, ana):
    client.force_login(ana)
    html = client.get(reverse("profile_edit")).content.decode()
    assert f'href="{reverse("notification_settings")}"' in html
    html = client.get(reverse("notification_settings")).content.decode()
    assert f'<a href="{reverse("notification_settings")}" aria-current="page">Notifications</a>' in html


def test_the_live_page_loads_the_script_hooks(client, ana):
    client.force_login(ana)
    html = client.get(reverse("notifications")).content.decode()
    assert "data-notifications-list data-live" in html
    assert 'aria-current="page"' in bell(html)
    assert "data-notifications-announce" in html
    assert "<script>" not in html  # no inline code: the CSP is script-src 'self'

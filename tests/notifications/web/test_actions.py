"""The notification forms without JavaScript: open a line (its group read, then its target), mark
all read, the settings form, and the bell toggle on a profile (plain POST and HTMX)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from notifications import services
from notifications.models import Bell, Notification, Preferences
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
Type = Notification.Type
SWITCHABLE = Preferences.SWITCHABLE


def unread(user, kind=None):
    rows = Notification.objects.filter(recipient=user, read_at__isnull=True)
    return rows.filter(type=kind).count() if kind else rows.count()


def group_of(user, kind):
    return Notification.objects.filter(recipient=user, type=kind).values_list("group_key", flat=True).first()


# --- Opening a line ---------------------------------------------------------------------------------------


def test_opening_a_line_reads_its_group_and_goes_to_the_post(client, ana, bo, cy, post_by, like, follow):
    post = post_by(ana)
    like(bo, post)
    like(cy, post)
    follow(bo, ana)
    client.force_login(ana)

    response = client.post(reverse("notification_open"), {"group_key": group_of(ana, Type.LIKE)})

    assert response.status_code == 302
    assert response["Location"] == reverse("post_detail", args=[post.pk])
    assert unread(ana, Type.LIKE) == 0
    assert unread(ana, Type.FOLLOW) == 1  # other lines stay unread


def test_a_comment_line_goes_to_the_comment(client, ana, bo, post_by, comment):
    post = post_by(ana)
    said = comment(bo, post, "lovely")
    client.force_login(ana)
    response = client.post(reverse("notification_open"), {"group_key": group_of(ana, Type.COMMENT)})
    assert response["Location"] == reverse("comment_thread", args=[post.pk, said.pk]) + f"#comment-{said.pk}"
    assert unread(ana) == 0


def test_a_message_line_goes_to_the_conversation(client, ana, bo, dm, settings):
    settings.NOTIFICATION_MESSAGE_SECONDS = 0  # both messages notify
    message = dm(bo, ana, "hi")
    dm(bo, ana, "still there?")
    client.force_login(ana)
    html = client.get(reverse("notifications")).content.decode()
    assert "bo sent you 2 messages" in html
    response = client.post(reverse("notification_open"), {"group_key": group_of(ana, Type.MESSAGE)})
    assert response["Location"] == reverse("conversation", args=[message.conversation_id])
    assert unread(ana) == 0


def test_a_follow_line_goes_to_the_follower(client, ana, bo, follow):
    follow(bo, ana)
    client.force_login(ana)
    response = client.post(reverse("notification_open"), {"group_key": group_of(ana, Type.FOLLOW)})
    assert response["Location"] == reverse("profile", args=[bo.username])


def test_another_users_group_key_marks_nothing_of_theirs(client, ana, bo, cy, post_by, like):
    post = post_by(ana)
    like(bo, post)
    like(cy, post_by(bo))  # bo has a like line of his own
    client.force_login(bo)

    response = client.post(reverse("notification_open"), {"group_key": group_of(ana, Type.LIKE)}, follow=True)

    assert unread(ana) == 1  # ana's line is untouched
    assert unread(bo) == 1  # and bo's own isn't read by it either
    assert response.redirect_chain == [(reverse("notifications"), 302)]
    assert "That notification is no longer there." in response.content.decode()


def test_opening_needs_a_group_key(client, ana):
    client.force_login(ana)
    assert client.post(reverse("notification_open"), {}).status_code == 400
    assert client.post(reverse("notification_open"), {"group_key": "x" * 161}).status_code == 400


def test_the_forms_only_take_post_with_a_csrf_token(ana, bo, follow):
    follow(bo, ana)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(ana)
    assert strict.get(reverse("notification_open")).status_code == 405
    assert strict.get(reverse("notifications_read_all")).status_code == 405
    for name, data in (
        ("notification_open", {"group_key": group_of(ana, Type.FOLLOW)}),
        ("notifications_read_all", {}),
        ("notification_settings", {"like": "on"}),
    ):
        assert strict.post(reverse(name), data).status_code == 403, name
    assert strict.post(reverse("bell_on", args=[bo.pk])).status_code == 403
    assert unread(ana) == 1
    # With the token the page carries, the same form works.
    html = strict.get(reverse("notifications")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = strict.post(reverse("notifications_read_all"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and unread(ana) == 0


# --- Mark all as read ------------------------------------------------------------------------------------


def test_mark_all_as_read_reads_only_the_viewers_own(client, ana, bo, cy, post_by, like, follow, dm):
    like(bo, post_by(ana))
    follow(cy, ana)
    dm(bo, ana)
    like(ana, post_by(bo))  # bo's
    client.force_login(ana)
    assert unread(ana) == 3

    response = client.post(reverse("notifications_read_all"), follow=True)

    assert response.redirect_chain == [(reverse("notifications"), 302)]
    html = response.content.decode()
    assert "All notifications marked as read." in html
    assert unread(ana) == 0 and unread(bo) == 1
    assert "notification--unread" not in html
    assert 'data-count="0"' in html


def test_mark_all_as_read_goes_back_to_the_page_it_came_from(client, ana, bo, requests_from):
    requests_from(bo, ana, 25)
    client.force_login(ana)
    page2 = reverse("notifications") + "?before=2100-01-01T00:00:00%2B00:00"
    response = client.post(reverse("notifications_read_all"), {"next": page2})
    assert response["Location"] == page2
    response = client.post(reverse("notifications_read_all"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("notifications")


# --- Settings --------------------------------------------------------------------------------------------


def checked_boxes(html):
    return set(re.findall(r'<input type="checkbox" name="(\w+)"[^>]* checked', html))


def test_every_type_is_on_by_default(client, ana):
    client.force_login(ana)
    html = client.get(reverse("notification_settings")).content.decode()
    assert checked_boxes(html) == set(SWITCHABLE)
    for kind in SWITCHABLE:
        assert f'name="{kind}"' in html


@pytest.mark.parametrize("kind", SWITCHABLE)
def test_each_box_saves_its_own_type(client, ana, kind):
    """Unchecking one box turns off that type and no other: nothing is dropped or misread."""
    client.force_login(ana)
    data = {name: "on" for name in SWITCHABLE if name != kind}
    response = client.post(reverse("notification_settings"), data, follow=True)
    assert response.redirect_chain == [(reverse("notification_settings"), 302)]
    assert "Notification settings saved." in response.content.decode()
    saved = Preferences.objects.get(user=ana).as_dict()
    assert saved == {name: name != kind for name in SWITCHABLE}
    assert checked_boxes(response.content.decode()) == set(SWITCHABLE) - {kind}


def test_turning_types_back_on(client, ana):
    services.preferences_update(user=ana, changes=dict.fromkeys(SWITCHABLE, False))
    client.force_login(ana)
    html = client.get(reverse("notification_settings")).content.decode()
    assert checked_boxes(html) == set()
    client.post(reverse("notification_settings"), {"like": "on", "message": "on"})
    saved = Preferences.objects.get(user=ana).as_dict()
    assert {name for name, on in saved.items() if on} == {"like", "message"}


def test_an_unchecked_type_stops_its_notifications(client, ana, bo, post_by, like, follow):
    client.force_login(ana)
    client.post(reverse("notification_settings"), {name: "on" for name in SWITCHABLE if name != "like"})
    like(bo, post_by(ana))
    follow(bo, ana)
    assert list(Notification.objects.filter(recipient=ana).values_list("type", flat=True)) == ["follow"]


def test_the_settings_list_bells_with_a_turn_off_button(client, ana, bo, cy, follow):
    follow(ana, bo)
    follow(ana, cy)
    services.bell_set(user=ana, author_id=bo.pk, on=True)
    client.force_login(ana)
    html = client.get(reverse("notification_settings")).content.decode()
    assert "@bo" in html and "@cy" not in html
    assert f'action="{reverse("bell_off", args=[bo.pk])}"' in html

    response = client.post(reverse("bell_off", args=[bo.pk]), {"next": reverse("notification_settings")}, follow=True)

    assert response.redirect_chain == [(reverse("notification_settings"), 302)]
    html = response.content.decode()
    assert "Bell off: no more new-post notifications from @bo." in html
    assert "No bells on." in html
    assert not Bell.objects.exists()


# --- The bell on a profile -------------------------------------------------------------------------------


def bell_button(html):
    match = re.search(r'<span class="bell-toggle" id="bell-[^"]+"[^>]*>(.*?)</span>(?!<)', html, flags=re.DOTALL)
    return match


def bell_state(html):
    match = re.search(r'data-bell-state="(on|off)"', html)
    return match.group(1) if match else None


def test_the_bell_shows_only_on_followed_profiles(client, ana, bo, cy, follow):
    follow(ana, bo)
    client.force_login(ana)
    assert bell_state(client.get(reverse("profile", args=["bo"])).content.decode()) == "off"
    assert bell_state(client.get(reverse("profile", args=["cy"])).content.decode()) is None  # not followed
    assert bell_state(client.get(reverse("profile", args=["ana"])).content.decode()) is None  # oneself
    client.logout()
    assert bell_state(client.get(reverse("profile", args=["bo"])).content.decode()) is None  # signed out


def test_the_bell_turns_on_and_off_from_the_profile(client, ana, bo, follow):
    follow(ana, bo)
    client.force_login(ana)
    profile = reverse("profile", args=["bo"])

    response = client.post(reverse("bell_on", args=[bo.pk]), {"next": profile}, follow=True)

    assert response.redirect_chain == [(profile, 302)]
    html = response.content.decode()
    assert bell_state(html) == "on" and 'aria-pressed="true"' in html
    assert "Bell on: you&#x27;ll be notified of every new post by @bo." in html
    assert Bell.objects.filter(subscriber=ana, author=bo).exists()
    assert f'action="{reverse("bell_off", args=[bo.pk])}"' in html

    client.post(reverse("bell_on", args=[bo.pk]))  # again: still one
    assert Bell.objects.count() == 1

    response = client.post(reverse("bell_off", args=[bo.pk]), {"next": profile}, follow=True)
    assert bell_state(response.content.decode()) == "off"
    assert not Bell.objects.exists()


def test_the_bell_over_htmx_answers_with_the_toggle(client, ana, bo, follow):
    follow(ana, bo)
    client.force_login(ana)
    response = client.post(reverse("bell_on", args=[bo.pk]), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith(
        f'<span class="bell-toggle" id="bell-{bo.pk}">'
    )  # swapped in place, not out of band
    assert bell_state(html) == "on"
    assert '<div id="messages" hx-swap-oob="innerHTML">' in html and "Bell on" in html
    html = client.post(reverse("bell_off", args=[bo.pk]), **HTMX).content.decode()
    assert bell_state(html) == "off"


def test_the_bell_needs_a_follow(client, ana, bo):
    client.force_login(ana)
    response = client.post(reverse("bell_on", args=[bo.pk]), follow=True)
    assert response.redirect_chain == [(reverse("profile", args=["bo"]), 302)]
    assert "Follow this account first" in response.content.decode()
    assert not Bell.objects.exists()


def test_the_bell_of_an_unknown_account_is_not_found(client, ana):
    client.force_login(ana)
    gone = UserFactory()
    gone_id = gone.pk
    gone.delete()
    assert client.post(reverse("bell_on", args=[gone_id])).status_code == 404


def test_following_over_htmx_brings_the_bell_and_unfollowing_takes_it_away(
    client, ana, bo, django_capture_on_commit_callbacks
):
    client.force_login(ana)
    html = client.post(reverse("follow", args=[bo.pk]), {"oob_counts": "1"}, **HTMX).content.decode()
    assert f'<span class="bell-toggle" id="bell-{bo.pk}" hx-swap-oob="true">' in html
    assert bell_state(html) == "off"

    client.post(reverse("bell_on", args=[bo.pk]), **HTMX)
    with django_capture_on_commit_callbacks(execute=True):  # the unfollow's tasks, as after a real commit
        response = client.post(reverse("unfollow", args=[bo.pk]), {"oob_counts": "1"}, **HTMX)
    html = response.content.decode()
    assert f'<span class="bell-toggle" id="bell-{bo.pk}" hx-swap-oob="true"></span>' in html  # emptied
    assert not Bell.objects.exists()  # an unfollow ends the bell


def test_other_follow_buttons_have_no_bell(client, ana, bo):
    client.force_login(ana)
    html = client.post(reverse("follow", args=[bo.pk]), **HTMX).content.decode()  # e.g. the home page's
    assert "bell-toggle" not in html

"""The person a moderator acted on is told what and why, with a way to appeal."""

import pytest
from django.test import Client
from django.urls import reverse

from notifications import selectors as notification_selectors
from notifications.models import Notification
from posts import moderation
from posts.models import ModerationAction

pytestmark = pytest.mark.django_db


def web(user):
    client = Client()
    client.force_login(user)
    return client


def notices(user):
    return list(Notification.objects.visible_to(user).filter(type=Notification.Type.MODERATION))


class TestWarning:
    def test_banner_with_reason_and_appeal_until_dismissed(self, act, moderator_user, author):
        action = act(moderation.warn_user, moderator=moderator_user, user=author, reason="No <b>spam</b>, please.")
        client = web(author)
        html = client.get(reverse("home")).content.decode()
        assert "A moderator warned you" in html
        assert "No &lt;b&gt;spam&lt;/b&gt;, please." in html  # the reason, escaped
        assert reverse("moderation_action", args=[action.pk]) in html  # Appeal
        response = client.post(reverse("moderation_warning_dismiss", args=[action.pk]), {"next": "/"})
        assert response.status_code == 302
        assert "A moderator warned you" not in client.get(reverse("home")).content.decode()
        action.refresh_from_db()
        assert action.dismissed_at is not None

    def test_dismissing_someone_elses_warning_is_a_404(self, act, moderator_user, author, reporter):
        action = act(moderation.warn_user, moderator=moderator_user, user=author, reason="rude")
        assert web(reporter).post(reverse("moderation_warning_dismiss", args=[action.pk])).status_code == 404
        assert web(reporter).post(reverse("moderation_warning_dismiss", args=["nope"])).status_code == 404
        action.refresh_from_db()
        assert action.dismissed_at is None
        assert "rude" not in web(reporter).get(reverse("home")).content.decode()

    def test_htmx_dismiss_answers_an_empty_swap(self, act, moderator_user, author):
        action = act(moderation.warn_user, moderator=moderator_user, user=author, reason="rude")
        response = web(author).post(reverse("moderation_warning_dismiss", args=[action.pk]), HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and response.content == b""

    def test_notification_says_what_and_why_and_links_to_the_appeal(self, act, moderator_user, author):
        action = act(moderation.warn_user, moderator=moderator_user, user=author, reason="Be kind.")
        [row] = notices(author)
        body = notification_selectors.notification_payload(row)
        assert body["text"] == "A moderator warned you"
        assert body["excerpt"] == "Be kind."
        assert body["url"] == reverse("moderation_action", args=[action.pk])
        assert moderator_user.username not in str(body)  # the moderator isn't named
        # It shows on the notifications page too (a grouped line).
        html = web(author).get(reverse("notifications")).content.decode()
        assert "A moderator warned you" in html and "Be kind." in html


class TestHiddenContent:
    def test_hidden_post_author_is_notified_and_sees_why_on_its_page(self, act, moderator_user, author, post, reporter):
        action = act(moderation.hide_content, moderator=moderator_user, target=post, reason="misleading")
        [row] = notices(author)
        body = notification_selectors.notification_payload(row)
        assert (body["text"], body["excerpt"]) == ("A moderator hid your post", "misleading")
        page = web(author).get(reverse("post_detail", args=[post.pk]))
        assert page.status_code == 200
        html = page.content.decode()
        assert "A moderator hid your post" in html and "misleading" in html
        assert reverse("moderation_action", args=[action.pk]) in html
        # Nobody else sees it, nor why.
        other = web(reporter).get(reverse("post_detail", args=[post.pk]))
        assert other.status_code == 404 and b"misleading" not in other.content
        assert Client().get(reverse("post_detail", args=[post.pk])).status_code == 404

    def test_removed_comment_author_is_notified(self, act, moderator_user, comment):
        act(moderation.remove_content, moderator=moderator_user, target=comment, reason="abuse")
        [row] = notices(comment.author)
        body = notification_selectors.notification_payload(row)
        assert (body["text"], body["excerpt"]) == ("A moderator removed your comment", "abuse")

    def test_hiding_again_does_not_notify_again(self, act, moderator_user, author, post):
        act(moderation.hide_content, moderator=moderator_user, target=post, reason="one")
        act(moderation.hide_content, moderator=moderator_user, target=post, reason="two")
        assert len(notices(author)) == 1

    def test_post_its_author_deleted_is_still_a_404(self, author, post):
        from posts import services

        services.post_delete(post=post, actor=author)
        assert web(author).get(reverse("post_detail", args=[post.pk])).status_code == 404

    def test_action_page_is_the_owners_only(self, act, moderator_user, author, post, reporter):
        action = act(moderation.remove_content, moderator=moderator_user, target=post, reason="gone")
        url = reverse("moderation_action", args=[action.pk])
        assert web(author).get(url).status_code == 200
        assert web(reporter).get(url).status_code == 404
        assert Client().get(url).status_code == 302  # to the log-in
        assert web(author).get(reverse("moderation_action", args=["1x"])).status_code == 404
        # An audit row that isn't appealable (a dismissal) isn't shown either.
        dismiss = ModerationAction.objects.create(moderator=moderator_user, action="dismiss", reason="x", user=author)
        assert web(author).get(reverse("moderation_action", args=[dismiss.pk])).status_code == 404

"""Appeals: the person acted on files one per action; moderators uphold or reverse it in the admin."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse

from notifications import selectors as notification_selectors
from notifications.models import Notification
from posts import moderation
from posts.models import Appeal, ModerationAction, Post
from socialsite.errors import ConflictError, NotFoundError, ServiceError
from socialsite.ratelimit import RateLimitedError
from tests.accounts.admin.conftest import logged_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

APPEALS = reverse("admin:posts_appeal_changelist")


@pytest.fixture(autouse=True)
def _fresh_limits(settings):
    from django.core.cache import cache

    cache.clear()  # the appeal rate limit counts in the shared cache
    settings.THROTTLE_APPEAL = "5/h"


def decide(client, appeals, action, reason="looked again"):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(a.pk) for a in appeals], "post": "yes", "reason": reason}
    return client.post(APPEALS, data)


def web(user):
    client = Client()
    client.force_login(user)
    return client


class TestFiling:
    def test_from_the_action_page_once_replays_make_no_duplicate(self, act, moderator_user, author, post):
        action = act(moderation.hide_content, moderator=moderator_user, target=post, reason="misleading")
        client = web(author)
        url = reverse("moderation_action", args=[action.pk])
        page = client.get(url).content.decode()
        assert "misleading" in page and 'name="message"' in page
        for _ in range(3):  # a double click, a replayed POST
            assert client.post(url, {"message": "It was satire."}).status_code == 302
        [appeal] = Appeal.objects.all()
        assert (appeal.action, appeal.appellant, appeal.status) == (action, author, "open")
        assert appeal.message == "It was satire."
        page = client.get(url).content.decode()
        assert 'data-appeal-status="open"' in page and 'name="message"' not in page

    def test_someone_else_cannot_appeal_or_see_it(self, act, moderator_user, author, reporter, post):
        action = act(moderation.hide_content, moderator=moderator_user, target=post, reason="misleading")
        url = reverse("moderation_action", args=[action.pk])
        assert web(reporter).post(url, {"message": "mine now"}).status_code == 404
        with pytest.raises(NotFoundError):
            moderation.appeal_create(appellant=reporter, action_id=action.pk, message="x")
        assert not Appeal.objects.exists()

    @pytest.mark.parametrize("action_id", ["", "abc", "99999999", "1; drop", None])
    def test_malformed_or_unknown_actions_are_not_found(self, author, action_id):
        with pytest.raises(NotFoundError):
            moderation.appeal_create(appellant=author, action_id=action_id, message="why")

    def test_message_is_required_and_bounded(self, act, moderator_user, author):
        action = act(moderation.warn_user, moderator=moderator_user, user=author, reason="rude")
        for message, code in (("  ", "invalid"), ("x" * (moderation.APPEAL_MAX_CHARS + 1), "too_long")):
            with pytest.raises(ServiceError) as refused:
                moderation.appeal_create(appellant=author, action_id=action.pk, message=message)
            assert refused.value.code == code
        response = web(author).post(reverse("moderation_action", args=[action.pk]), {"message": ""})
        assert response.status_code == 200 and not Appeal.objects.exists()

    def test_rate_limited(self, act, moderator_user, author, settings):
        settings.THROTTLE_APPEAL = "2/h"
        actions = [act(moderation.warn_user, moderator=moderator_user, user=author, reason=f"r{i}") for i in range(3)]
        moderation.appeal_create(appellant=author, action_id=actions[0].pk, message="a")
        moderation.appeal_create(appellant=author, action_id=actions[1].pk, message="b")
        with pytest.raises(RateLimitedError):
            moderation.appeal_create(appellant=author, action_id=actions[2].pk, message="c")
        response = web(author).post(reverse("moderation_action", args=[actions[2].pk]), {"message": "c"})
        assert response.status_code == 200 and b"Too many appeals" in response.content
        assert Appeal.objects.count() == 2

    def test_a_decided_appeal_is_final(self, act, moderator_user, author):
        action = act(moderation.warn_user, moderator=moderator_user, user=author, reason="rude")
        appeal, _ = moderation.appeal_create(appellant=author, action_id=action.pk, message="no")
        act(moderation.appeal_decide, moderator=moderator_user, appeal=appeal, decision="uphold", reason="stands")
        with pytest.raises(ConflictError):
            moderation.appeal_create(appellant=author, action_id=action.pk, message="again")
        with pytest.raises(ServiceError) as refused:
            moderation.appeal_decide(moderator=moderator_user, appeal=appeal, decision="reverse", reason="x")
        assert refused.value.code == "already_decided"


class TestDeciding:
    def test_reverse_a_hidden_post_restores_it_audits_and_tells(self, act, moderator_user, author, post):
        action = act(moderation.hide_content, moderator=moderator_user, target=post, reason="misleading")
        appeal, _ = moderation.appeal_create(appellant=author, action_id=action.pk, message="satire")
        appeal = act(moderation.appeal_decide, moderator=moderator_user, appeal=appeal, decision="reverse", reason="ok")
        post.refresh_from_db()
        assert post.hidden_at is None and Post.objects.visible_to(None).filter(pk=post.pk).exists()
        assert appeal.status == "reversed" and appeal.decided_by == moderator_user
        assert (appeal.decision.action, appeal.decision.post, appeal.decision.reason) == ("restore", post, "ok")
        texts = [
            notification_selectors.notification_payload(row)["text"]
            for row in Notification.objects.visible_to(author).filter(type="moderation")
        ]
        assert "Your appeal was accepted" in texts

    def test_reverse_a_suspension_unsuspends(self, act, moderator_user, author):
        action = act(moderation.suspend_user, moderator=moderator_user, user=author, reason="spam")
        appeal, _ = moderation.appeal_create(appellant=author, action_id=action.pk, message="hacked")
        appeal = act(moderation.appeal_decide, moderator=moderator_user, appeal=appeal, decision="reverse", reason="ok")
        author.refresh_from_db()
        assert author.is_active and appeal.decision.action == "unsuspend"
        [notice] = Notification.objects.visible_to(author).filter(key=f"appeal:{appeal.pk}")
        assert notice.payload["what"] == "appeal_reversed"

    def test_reverse_a_warning_withdraws_it(self, act, moderator_user, author):
        action = act(moderation.warn_user, moderator=moderator_user, user=author, reason="rude")
        appeal, _ = moderation.appeal_create(appellant=author, action_id=action.pk, message="wasn't me")
        appeal = act(moderation.appeal_decide, moderator=moderator_user, appeal=appeal, decision="reverse", reason="ok")
        assert appeal.decision.action == "reverse" and appeal.decision.user == author
        assert moderation.warnings_to_show(author) == []

    def test_uphold_is_audited_and_told(self, act, moderator_user, author, post):
        action = act(moderation.remove_content, moderator=moderator_user, target=post, reason="spam")
        appeal, _ = moderation.appeal_create(appellant=author, action_id=action.pk, message="please")
        appeal = act(moderation.appeal_decide, moderator=moderator_user, appeal=appeal, decision="uphold", reason="no")
        post.refresh_from_db()
        assert post.deleted_at is not None
        assert (appeal.status, appeal.decision.action, appeal.decision.post) == ("upheld", "uphold", post)
        [notice] = Notification.objects.visible_to(author).filter(key=f"appeal:{appeal.pk}")
        assert notification_selectors.notification_payload(notice)["text"] == "Your appeal was turned down"
        html = web(author).get(reverse("moderation_action", args=[action.pk])).content.decode()
        assert 'data-appeal-status="upheld"' in html and "no" in html

    def test_unknown_decision_and_own_account_refused(self, act, moderator_user, author):
        action = act(moderation.warn_user, moderator=moderator_user, user=author, reason="rude")
        appeal, _ = moderation.appeal_create(appellant=author, action_id=action.pk, message="no")
        with pytest.raises(ServiceError):
            moderation.appeal_decide(moderator=moderator_user, appeal=appeal, decision="maybe", reason="x")
        with pytest.raises(ServiceError) as refused:
            moderation.appeal_decide(moderator=author, appeal=appeal, decision="reverse", reason="x")
        assert refused.value.code == "own_account"


@pytest.fixture
def moderator(moderators_group):
    """A staff account in the moderators group (the migrations' permissions, appeals included)."""
    user = UserFactory(username="mod", is_staff=True)
    user.groups.add(moderators_group)
    return user


class TestAdmin:
    def test_moderator_sees_and_reverses_in_the_admin(self, act, moderator, author, post):
        action = act(moderation.hide_content, moderator=UserFactory(is_superuser=True), target=post, reason="x")
        appeal, _ = moderation.appeal_create(appellant=author, action_id=action.pk, message="satire")
        client = logged_in(moderator)
        listing = client.get(APPEALS)
        assert listing.status_code == 200 and list(listing.context["cl"].result_list) == [appeal]
        assert client.get(reverse("admin:posts_appeal_change", args=[appeal.pk])).status_code == 200
        # The reason is asked first.
        asked = client.post(APPEALS, {"action": "reverse_appeals", ACTION_CHECKBOX_NAME: [str(appeal.pk)]})
        assert asked.status_code == 200 and b'name="reason"' in asked.content
        response = decide(client, [appeal], "reverse_appeals")
        assert response.status_code == 302
        appeal.refresh_from_db()
        post.refresh_from_db()
        assert appeal.status == "reversed" and post.hidden_at is None
        assert ModerationAction.objects.filter(action="restore", moderator=moderator, post=post).exists()

    def test_staff_without_the_permission_cannot_see_appeals(self, act, moderator_user, author):
        action = act(moderation.warn_user, moderator=moderator_user, user=author, reason="rude")
        appeal, _ = moderation.appeal_create(appellant=author, action_id=action.pk, message="no")
        staff = logged_in(UserFactory(is_staff=True))
        assert staff.get(APPEALS).status_code == 403
        assert staff.get(reverse("admin:posts_appeal_change", args=[appeal.pk])).status_code == 403
        assert decide(staff, [appeal], "uphold_appeals").status_code == 403
        appeal.refresh_from_db()
        assert appeal.status == "open"
        # Nor can a signed-in user reach them through the site.
        assert web(UserFactory()).get(reverse("moderation_action", args=[action.pk])).status_code == 404

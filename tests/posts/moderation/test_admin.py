"""The reports queue and the audit log in the admin; actions go through posts.moderation."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse

from posts import moderation, services
from posts.models import ModerationAction, Report
from tests.accounts.admin.conftest import logged_in
from tests.factories import UserFactory
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:posts_report_changelist")
LOG = reverse("admin:posts_moderationaction_changelist")


@pytest.fixture
def queue_client(moderator_user):
    return logged_in(moderator_user)


def make_report(reporter, target_type, target, reason="spam"):
    return moderation.report_create(reporter=reporter, target_type=target_type, target_id=target.pk, reason=reason)[0]


def run_action(client, action, reports, reason=None):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(r.pk) for r in reports]}
    if reason is not None:
        data.update(post="yes", reason=reason)
    return client.post(QUEUE, data)


def assert_logged(moderator, kind, reason, report, **target):
    row = ModerationAction.objects.get(report=report)
    assert (row.moderator, row.action, row.reason) == (moderator, kind, reason)
    for name, value in target.items():
        assert getattr(row, name) == value
    report.refresh_from_db()
    expected = Report.Status.DISMISSED if kind == "dismiss" else Report.Status.ACTIONED
    assert (report.status, report.resolved_by) == (expected, moderator) and report.resolved_at


class TestQueue:
    def test_open_reports_first_oldest_first_with_links(self, queue_client, reporter, post, comment, author):
        old = make_report(reporter, "post", post)
        middle = make_report(reporter, "comment", comment)
        newest = make_report(reporter, "user", author)
        moderation.dismiss_report(moderator=UserFactory(is_superuser=True), report=old, reason="fine")
        response = queue_client.get(QUEUE)
        assert response.status_code == 200
        rows = list(response.context["cl"].result_list)
        assert rows == [middle, newest, Report.objects.get(pk=old.pk)]
        html = response.content.decode()
        assert reverse("admin:posts_post_change", args=[post.pk]) in html
        assert reverse("admin:posts_comment_change", args=[comment.pk]) in html
        assert reverse("admin:accounts_user_change", args=[author.pk]) in html

    def test_filters_and_bounded_queries(self, queue_client, reporter, author, django_assert_max_num_queries):
        for _ in range(5):
            make_report(UserFactory(), "user", author, reason="hate")
        make_report(reporter, "user", UserFactory(), reason="spam")
        with django_assert_max_num_queries(12):
            response = queue_client.get(QUEUE, {"status__exact": "open", "reason__exact": "hate"})
        assert len(response.context["cl"].result_list) == 5

    def test_reports_are_not_added_by_hand(self, queue_client):
        assert queue_client.get(reverse("admin:posts_report_add")).status_code == 403


class TestActions:
    def test_hide_asks_for_a_reason_first(self, queue_client, reporter, post):
        report = make_report(reporter, "post", post)
        response = run_action(queue_client, "hide_content", [report])
        assert response.status_code == 200
        assert "admin/posts/report/action_confirmation.html" in [t.name for t in response.templates]
        assert 'name="reason"' in response.content.decode()
        # Submitting without a reason shows the page again and changes nothing.
        response = run_action(queue_client, "hide_content", [report], reason="  ")
        assert response.status_code == 200 and b"Give a reason" in response.content
        post.refresh_from_db()
        assert post.hidden_at is None and not ModerationAction.objects.exists()

    def test_hide_then_restore(self, queue_client, moderator_user, reporter, post, client_for):
        report = make_report(reporter, "post", post)
        response = run_action(queue_client, "hide_content", [report], reason="spam links")
        assert response.status_code == 302
        assert_logged(moderator_user, "hide", "spam links", report, post=post, user=post.author)
        assert client_for(reporter).get(f"/api/v1/posts/{post.pk}").status_code == 404
        run_action(queue_client, "restore_content", [report], reason="appeal")
        row = ModerationAction.objects.get(action="restore")
        assert (row.moderator, row.post, row.reason, row.report) == (moderator_user, post, "appeal", report)
        assert client_for(reporter).get(f"/api/v1/posts/{post.pk}").status_code == 200

    def test_remove_comment(self, queue_client, moderator_user, reporter, post, comment):
        report = make_report(reporter, "comment", comment)
        assert run_action(queue_client, "remove_content", [report], reason="abuse").status_code == 302
        assert_logged(moderator_user, "remove", "abuse", report, comment=comment, user=comment.author)
        comment.refresh_from_db()
        post.refresh_from_db()
        assert comment.deleted_at is not None and post.comments_count == 0

    def test_hide_then_restore_comment(self, queue_client, moderator_user, reporter, post, comment, client_for):
        reply = services.comment_create(
            author=post.author, post_id=post.pk, content="thanks", parent_comment_id=comment.pk
        )
        report = make_report(reporter, "comment", comment)
        comments_url = f"/api/v1/posts/{post.pk}/comments"
        assert run_action(queue_client, "hide_content", [report], reason="insult").status_code == 302
        assert_logged(moderator_user, "hide", "insult", report, comment=comment, user=comment.author)
        assert client_for(reporter).get(comments_url).json()["results"] == []
        # A reply under the hidden comment stays out of reach through its parent.
        assert_error(client_for(reporter).get(f"{comments_url}?parent_comment_id={comment.pk}"), 404)
        run_action(queue_client, "restore_content", [report], reason="appeal")
        ids = [c["id"] for c in client_for(reporter).get(comments_url).json()["results"]]
        assert ids == [str(comment.pk)]
        replies = client_for(reporter).get(f"{comments_url}?parent_comment_id={comment.pk}").json()["results"]
        assert [c["id"] for c in replies] == [str(reply.pk)]

    def test_warn_author(self, queue_client, moderator_user, reporter, comment):
        report = make_report(reporter, "comment", comment)
        assert run_action(queue_client, "warn_author", [report], reason="Be kind.").status_code == 302
        assert_logged(moderator_user, "warn", "Be kind.", report, user=comment.author, comment=None)

    def test_suspend_author(self, queue_client, moderator_user, reporter, post, client_for):
        report = make_report(reporter, "post", post)
        assert run_action(queue_client, "suspend_author", [report], reason="spam ring").status_code == 302
        assert_logged(moderator_user, "suspend", "spam ring", report, user=post.author, post=None)
        post.author.refresh_from_db()
        assert not post.author.is_active and post.author.deactivated_at is None
        assert client_for(reporter).get(f"/api/v1/posts/{post.pk}").status_code == 404
        # After an appeal the same report lifts it; a second lift is refused and changes nothing.
        assert run_action(queue_client, "unsuspend_author", [report], reason="appeal granted").status_code == 302
        row = ModerationAction.objects.get(action="unsuspend")
        assert (row.moderator, row.user, row.reason) == (moderator_user, post.author, "appeal granted")
        post.author.refresh_from_db()
        assert post.author.is_active
        assert client_for(reporter).get(f"/api/v1/posts/{post.pk}").status_code == 200
        response = run_action(queue_client, "unsuspend_author", [report], reason="again")
        assert any("isn't suspended" in str(m) for m in response.wsgi_request._messages)
        assert ModerationAction.objects.filter(action="unsuspend").count() == 1

    def test_dismiss(self, queue_client, moderator_user, reporter, author):
        report = make_report(reporter, "user", author)
        assert run_action(queue_client, "dismiss_reports", [report], reason="no violation").status_code == 302
        assert_logged(moderator_user, "dismiss", "no violation", report, user=author)
        author.refresh_from_db()
        assert author.is_active

    def test_actions_that_do_not_apply_are_skipped_with_a_message(self, queue_client, reporter, post, author):
        post_report, user_report = make_report(reporter, "post", post), make_report(reporter, "user", author)
        response = run_action(queue_client, "hide_content", [post_report, user_report], reason="x")
        messages = [str(m) for m in response.wsgi_request._messages]
        assert any("Hide: 1 report done." in m for m in messages)
        assert any("not content" in m.lower() or "about an account" in m for m in messages)
        user_report.refresh_from_db()
        assert user_report.status == Report.Status.OPEN


class TestAuditLog:
    def test_read_only_searchable_filterable(self, queue_client, moderator_user, reporter, post, author):
        moderation.hide_content(moderator=moderator_user, target=post, reason="needle in the haystack")
        other = UserFactory(username="othermod", is_staff=True, is_superuser=True)
        moderation.warn_user(moderator=other, user=author, reason="hay")
        response = queue_client.get(LOG, {"q": "needle"})
        assert [a.action for a in response.context["cl"].result_list] == ["hide"]
        response = queue_client.get(LOG, {"action__exact": "warn"})
        assert [a.reason for a in response.context["cl"].result_list] == ["hay"]
        response = queue_client.get(LOG, {"moderator": str(other.pk)})
        assert [a.moderator for a in response.context["cl"].result_list] == [other]
        assert response.context["cl"].date_hierarchy == "created_at"
        action = ModerationAction.objects.get(action="hide")
        assert queue_client.get(reverse("admin:posts_moderationaction_add")).status_code == 403
        change_url = reverse("admin:posts_moderationaction_change", args=[action.pk])
        page = queue_client.get(change_url)
        assert page.status_code == 200 and b"needle in the haystack" in page.content
        queue_client.post(change_url, {"reason": "rewritten"})
        action.refresh_from_db()
        assert action.reason == "needle in the haystack"
        assert queue_client.get(reverse("admin:posts_moderationaction_delete", args=[action.pk])).status_code == 403
        assert queue_client.get(LOG).context["action_form"] is None  # no actions, not even delete


class TestPermissions:
    def test_moderators_group_works_the_queue(self, moderators_group, reporter, post):
        """Migration posts 0002 gives the moderators group the queue, its actions and the audit log."""
        mod = UserFactory(username="mod", is_staff=True)
        mod.groups.add(moderators_group)
        report = make_report(reporter, "post", post)
        client = logged_in(mod)
        assert client.get(QUEUE).status_code == 200
        assert client.get(LOG).status_code == 200
        run_action(client, "hide_content", [report], reason="spam wave")
        post.refresh_from_db()
        assert post.hidden_at is not None
        assert ModerationAction.objects.filter(moderator=mod, action="hide", reason="spam wave").exists()

    def test_view_permission_alone_lists_no_actions(self, reporter, post):
        staff = UserFactory(is_staff=True)
        staff.user_permissions.add(Permission.objects.get(codename="view_report"))
        report = make_report(reporter, "post", post)
        client = logged_in(staff)
        response = client.get(QUEUE)
        assert response.status_code == 200
        assert response.context["action_form"] is None  # every queue action needs change permission
        run_action(client, "hide_content", [report], reason="x")
        post.refresh_from_db()
        assert post.hidden_at is None

    def test_change_permission_on_reports_enables_the_actions(self, reporter, post):
        staff = UserFactory(is_staff=True)
        staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_report", "change_report"]))
        report = make_report(reporter, "post", post)
        client = logged_in(staff)
        choices = dict(client.get(QUEUE).context["action_form"].fields["action"].choices)
        assert {"hide_content", "remove_content", "restore_content", "warn_author", "suspend_author"} <= set(choices)
        assert run_action(client, "hide_content", [report], reason="spam").status_code == 302
        post.refresh_from_db()
        assert post.hidden_at is not None
        assert ModerationAction.objects.get().moderator == staff

"""Moderator actions through the services: the change, the audit row, the resolved report."""

import asyncio

import pytest

from accounts import services as account_services
from accounts import tokens
from posts import moderation, services
from posts.models import Comment, ModerationAction, Post, Report
from socialsite.errors import ForbiddenError, NotFoundError, ServiceError
from tests.accounts.services.test_relationships import GroupListener
from tests.factories import PASSWORD, UserFactory
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/jwt/login"
REFRESH = "/api/v1/auth/jwt/refresh"


def open_report(reporter, target_type, target, reason="spam"):
    report, created = moderation.report_create(
        reporter=reporter, target_type=target_type, target_id=target.pk, reason=reason
    )
    assert created
    return report


def assert_audited(action, *, moderator, kind, reason, report=None, post=None, comment=None, user=None):
    row = ModerationAction.objects.get(pk=action.pk)
    assert (row.moderator, row.action, row.reason) == (moderator, kind, reason)
    assert (row.post, row.comment, row.user, row.report) == (post, comment, user, report)
    assert row.created_at is not None
    if report is not None:
        report.refresh_from_db()
        expected = Report.Status.DISMISSED if kind == "dismiss" else Report.Status.ACTIONED
        assert report.status == expected and report.resolved_by == moderator and report.resolved_at is not None


def visible(viewer, post):
    return Post.objects.visible_to(viewer).filter(pk=post.pk).exists()


class TestReportCreate:
    def test_repeated_report_is_the_same_one(self, reporter, post):
        first, created = moderation.report_create(
            reporter=reporter, target_type="post", target_id=post.pk, reason="spam"
        )
        again, created_again = moderation.report_create(
            reporter=reporter, target_type="post", target_id=str(post.pk), reason="hate"
        )
        assert created and not created_again and again.pk == first.pk and again.reason == "spam"

    def test_the_integrity_race_returns_the_winner(self, reporter, post, monkeypatch):
        winner = Report.objects.create(reporter=reporter, post=post, reason="spam")
        real_filter = Report.objects.filter
        calls = []

        def miss_first_lookup(*args, **kwargs):
            calls.append(kwargs)
            if len(calls) == 1:  # the pre-check doesn't see the concurrent insert yet
                return Report.objects.none()
            return real_filter(*args, **kwargs)

        monkeypatch.setattr(Report.objects, "filter", miss_first_lookup)
        report, created = moderation.report_create(
            reporter=reporter, target_type="post", target_id=post.pk, reason="spam"
        )
        assert not created and report.pk == winner.pk
        assert Report.objects.count() == 1

    def test_comment_on_an_invisible_post_is_not_found(self, reporter, comment):
        Post.objects.filter(pk=comment.post_id).update(hidden_at=comment.created_at)
        with pytest.raises(NotFoundError):
            moderation.report_create(reporter=reporter, target_type="comment", target_id=comment.pk, reason="spam")

    def test_rules(self, reporter, post):
        with pytest.raises(ServiceError) as exc:
            moderation.report_create(reporter=post.author, target_type="post", target_id=post.pk, reason="spam")
        assert exc.value.code == "own_content"
        for bad in ({"reason": "meh"}, {"target_type": "story"}, {"details": "x" * 1001}):
            kwargs = {"reporter": reporter, "target_type": "post", "target_id": post.pk, "reason": "spam", **bad}
            with pytest.raises(ServiceError):
                moderation.report_create(**kwargs)


class TestContent:
    def test_hide_and_restore_a_post(self, moderator_user, reporter, post, client_for):
        report = open_report(reporter, "post", post)
        action = moderation.hide_content(moderator=moderator_user, report=report, reason="  spam links ")
        assert_audited(
            action,
            moderator=moderator_user,
            kind="hide",
            reason="spam links",
            report=report,
            post=post,
            user=post.author,
        )
        post.refresh_from_db()
        assert post.hidden_at is not None and post.deleted_at is None
        assert client_for(reporter).get(f"/api/v1/posts/{post.pk}").status_code == 404
        assert client_for(post.author).get(f"/api/v1/posts/{post.pk}").status_code == 404

        action = moderation.restore_content(moderator=moderator_user, target=post, reason="appeal granted")
        assert_audited(
            action, moderator=moderator_user, kind="restore", reason="appeal granted", post=post, user=post.author
        )
        assert client_for(reporter).get(f"/api/v1/posts/{post.pk}").status_code == 200

    def test_remove_and_restore_a_post_and_its_share_count(self, moderator_user, reporter, post, client_for):
        share, _ = services.share_create(user=UserFactory(), post_id=post.pk)
        report = open_report(reporter, "post", share)
        action = moderation.remove_content(moderator=moderator_user, report=report, reason="copyright")
        assert_audited(
            action,
            moderator=moderator_user,
            kind="remove",
            reason="copyright",
            report=report,
            post=share,
            user=share.author,
        )
        share.refresh_from_db()
        post.refresh_from_db()
        assert share.deleted_at is not None and post.shares_count == 0
        assert client_for(reporter).get(f"/api/v1/posts/{share.pk}").status_code == 404
        moderation.restore_content(moderator=moderator_user, report=report, reason="mistake")
        post.refresh_from_db()
        assert post.shares_count == 1
        assert client_for(reporter).get(f"/api/v1/posts/{share.pk}").status_code == 200
        report.refresh_from_db()
        assert report.status == Report.Status.ACTIONED  # the first resolution stands

    def test_remove_and_restore_a_comment_moves_the_counts(self, moderator_user, reporter, post, comment):
        reply = services.comment_create(
            author=UserFactory(), post_id=post.pk, content="reply", parent_comment_id=comment.pk
        )
        post.refresh_from_db()
        assert post.comments_count == 2
        report = open_report(reporter, "comment", reply)
        action = moderation.remove_content(moderator=moderator_user, report=report, reason="abuse")
        assert_audited(
            action,
            moderator=moderator_user,
            kind="remove",
            reason="abuse",
            report=report,
            comment=reply,
            user=reply.author,
        )
        post.refresh_from_db()
        comment.refresh_from_db()
        assert (post.comments_count, comment.replies_count) == (1, 0)
        assert not Comment.objects.visible_to(reporter).filter(pk=reply.pk).exists()
        # Removing twice changes nothing more.
        moderation.remove_content(moderator=moderator_user, target=reply, reason="again")
        post.refresh_from_db()
        assert post.comments_count == 1
        moderation.restore_content(moderator=moderator_user, target=reply, reason="ok after all")
        post.refresh_from_db()
        comment.refresh_from_db()
        assert (post.comments_count, comment.replies_count) == (2, 1)
        assert Comment.objects.visible_to(reporter).filter(pk=reply.pk).exists()

    def test_hide_a_comment_leaves_the_counts(self, moderator_user, reporter, post, comment):
        action = moderation.hide_content(moderator=moderator_user, target=comment, reason="off topic")
        assert_audited(
            action, moderator=moderator_user, kind="hide", reason="off topic", comment=comment, user=comment.author
        )
        post.refresh_from_db()
        assert post.comments_count == 1
        assert not Comment.objects.visible_to(reporter).filter(pk=comment.pk).exists()

    def test_author_deleted_content_is_not_restored(self, moderator_user, post):
        services.post_delete(post=post, actor=post.author)
        with pytest.raises(ServiceError) as exc:
            moderation.restore_content(moderator=moderator_user, target=post, reason="undo")
        assert exc.value.code == "deleted_by_author"
        assert not ModerationAction.objects.exists()

    def test_rules(self, moderator_user, reporter, post, comment, author):
        with pytest.raises(ServiceError) as exc:
            moderation.hide_content(moderator=moderator_user, target=post, reason="   ")
        assert exc.value.fields == {"reason": ["This field may not be blank."]}
        user_report = open_report(reporter, "user", author)
        with pytest.raises(ServiceError) as exc:
            moderation.hide_content(moderator=moderator_user, report=user_report, reason="x")
        assert exc.value.code == "not_content"
        post_report = open_report(reporter, "post", post)
        with pytest.raises(ServiceError) as exc:
            moderation.remove_content(moderator=moderator_user, target=comment, report=post_report, reason="x")
        assert exc.value.code == "report_mismatch"
        assert not ModerationAction.objects.exists()
        post_report.refresh_from_db()
        assert post_report.status == Report.Status.OPEN


class TestAccounts:
    def test_warn_sends_the_reason_after_commit(
        self, moderator_user, reporter, comment, django_capture_on_commit_callbacks
    ):
        report = open_report(reporter, "comment", comment)
        listener = GroupListener(comment.author)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            action = moderation.warn_user(moderator=moderator_user, report=report, reason="Be kind.")
        assert listener.drain(timeout=0.2) == []
        for callback in callbacks:
            callback()
        assert listener.drain() == [("moderation.warning", {"reason": "Be kind."})]
        assert_audited(
            action, moderator=moderator_user, kind="warn", reason="Be kind.", report=report, user=comment.author
        )

    def test_suspend_and_unsuspend(self, moderator_user, reporter, author, post, api, client_for):
        refresh, _ = tokens.issue_pair(author)
        access = client_for(author)
        report = open_report(reporter, "user", author)
        action = moderation.suspend_user(moderator=moderator_user, report=report, reason="ban evasion")
        assert_audited(
            action, moderator=moderator_user, kind="suspend", reason="ban evasion", report=report, user=author
        )
        author.refresh_from_db()
        assert not author.is_active and author.deactivated_at is None
        assert author.username and author.email  # nothing erased
        # No login (a right password learns it is suspended), no refresh, no access with the old
        # token; the posts are gone.
        login = api.post(LOGIN, {"username": author.username, "password": PASSWORD}, format="json")
        assert_error(login, 403, "account_suspended")
        assert api.post(REFRESH, {"refresh_token": str(refresh)}, format="json").status_code == 401
        assert access.get("/api/v1/users/me").status_code == 401
        assert client_for(reporter).get(f"/api/v1/posts/{post.pk}").status_code == 404
        assert not visible(reporter, post)

        action = moderation.unsuspend_user(moderator=moderator_user, user=author, reason="served")
        assert_audited(action, moderator=moderator_user, kind="unsuspend", reason="served", user=author)
        author.refresh_from_db()
        assert author.is_active
        login = api.post(LOGIN, {"username": author.username, "password": PASSWORD}, format="json")
        assert login.status_code == 200, login.content
        assert client_for(reporter).get(f"/api/v1/posts/{post.pk}").status_code == 200

    def test_suspend_closes_sockets_after_commit(self, moderator_user, author, django_capture_on_commit_callbacks):
        listener = GroupListener(author)
        with django_capture_on_commit_callbacks(execute=True):
            moderation.suspend_user(moderator=moderator_user, user=author, reason="spam")
        message = listener.loop.run_until_complete(asyncio.wait_for(listener.layer.receive(listener.channel), 0.5))
        assert message == {"type": "session.close"}

    def test_suspend_author_of_reported_post(self, moderator_user, reporter, post):
        report = open_report(reporter, "post", post)
        moderation.suspend_user(moderator=moderator_user, report=report, reason="spam")
        post.author.refresh_from_db()
        assert not post.author.is_active

    def test_unsuspend_refuses_active_and_deactivated_accounts(self, moderator_user, author):
        with pytest.raises(ServiceError) as exc:
            moderation.unsuspend_user(moderator=moderator_user, user=author, reason="x")
        assert exc.value.code == "not_suspended"
        account_services.user_deactivate(user=author)
        with pytest.raises(ServiceError) as exc:
            moderation.unsuspend_user(moderator=moderator_user, user=author, reason="x")
        assert exc.value.code == "deactivated"
        author.refresh_from_db()
        assert not author.is_active
        assert not ModerationAction.objects.exists()

    def test_staff_and_self_are_protected(self, moderator_user):
        staff = UserFactory(is_staff=True)
        with pytest.raises(ForbiddenError):
            moderation.suspend_user(moderator=moderator_user, user=moderator_user, reason="x")
        with pytest.raises(ForbiddenError):
            moderation.suspend_user(moderator=UserFactory(is_staff=True), user=staff, reason="x")
        moderation.suspend_user(moderator=moderator_user, user=staff, reason="superusers may")
        staff.refresh_from_db()
        assert not staff.is_active


class TestDismiss:
    def test_dismiss(self, moderator_user, reporter, comment):
        report = open_report(reporter, "comment", comment)
        action = moderation.dismiss_report(moderator=moderator_user, report=report, reason="not abusive")
        assert_audited(
            action,
            moderator=moderator_user,
            kind="dismiss",
            reason="not abusive",
            report=report,
            comment=comment,
            user=comment.author,
        )
        comment.refresh_from_db()
        assert comment.hidden_at is None and comment.deleted_at is None
        with pytest.raises(ServiceError) as exc:
            moderation.dismiss_report(moderator=moderator_user, report=report, reason="again")
        assert exc.value.code == "already_resolved"

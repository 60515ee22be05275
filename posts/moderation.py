"""Reports and moderation: people report posts, comments and accounts; moderators act on them.

Every function is keyword-only and runs in one transaction. Each moderator action writes
exactly one ModerationAction row (who, what, when, why) and resolves the report it was taken
for. Moderator permission is checked by the entry point (the admin); the services take the
moderator user and record it. Side effects (socket events, closing sockets) run on commit.

A comment counts in its post's `comments_count` while it isn't deleted: removing one takes
it off the count, restoring it puts it back. Hiding doesn't touch counters.
"""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts import tokens
from posts import selectors, services
from posts.models import Comment, ModerationAction, Post, Report
from posts.signals import post_published, post_withdrawn
from socialsite.errors import ForbiddenError, NotFoundError, ServiceError
from socialsite.realtime.events import close_sockets_on_commit, send_event_on_commit

User = get_user_model()

TARGET_TYPES = ("post", "comment", "user")
DETAILS_MAX_CHARS = 1000
REASON_MAX_CHARS = 1000


# --- Reports ---------------------------------------------------------------------------------------


def report_target_type(report):
    """The one target the report names: "post", "comment" or "user"."""
    if report.post_id is not None:
        return "post"
    if report.comment_id is not None:
        return "comment"
    return "user"


def report_target_id(report):
    return getattr(report, f"{report_target_type(report)}_id")


def reports_queryset(*, reporter):
    """The reporter's own reports, newest first."""
    return Report.objects.filter(reporter=reporter).order_by("-created_at")


def report_target_get(reporter, target_type, target_id):
    """(target, owner id) when the reporter may see the target; else NotFoundError."""
    if target_type == "post":
        post = selectors.post_get_bare(viewer=reporter, post_id=target_id)
        return post, post.author_id
    if target_type == "comment":
        pk = selectors.parse_id(target_id, "No such comment.")
        comment = (
            Comment.objects.visible_to(reporter)
            .filter(pk=pk, post__in=Post.objects.visible_to(reporter).values("pk"))
            .first()
        )
        if comment is None:
            raise NotFoundError("No such comment.")
        return comment, comment.author_id
    user = account_selectors.user_get(viewer=reporter, user_id=target_id)
    return user, user.pk


@transaction.atomic
def report_create(*, reporter, target_type, target_id, reason, details=""):
    """Report something the reporter can see. Returns (report, created).

    One open report per reporter and target: a repeated report returns the open one.
    """
    if target_type not in TARGET_TYPES:
        raise ServiceError("Unknown target type.", fields={"target_type": [f"One of: {', '.join(TARGET_TYPES)}."]})
    if reason not in Report.Reason.values:
        raise ServiceError("Unknown reason.", fields={"reason": ["Not a valid choice."]})
    details = (details or "").strip()
    if len(details) > DETAILS_MAX_CHARS:
        message = f"At most {DETAILS_MAX_CHARS} characters."
        raise ServiceError(message, code="too_long", fields={"details": [message]})
    target, owner_id = report_target_get(reporter, target_type, target_id)
    if owner_id == reporter.pk:
        what = "yourself" if target_type == "user" else f"your own {target_type}"
        raise ServiceError(f"You can't report {what}.", code="own_content")

    open_report = {"reporter": reporter, target_type: target, "status": Report.Status.OPEN}
    existing = Report.objects.filter(**open_report).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            report = Report.objects.create(reporter=reporter, reason=reason, details=details, **{target_type: target})
    except IntegrityError:  # a concurrent identical report won the race
        return Report.objects.get(**open_report), False
    return report, True


# --- Helpers for moderator actions -----------------------------------------------------------------


def _check_reason(reason):
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Give a reason.", fields={"reason": ["This field may not be blank."]})
    if len(reason) > REASON_MAX_CHARS:
        message = f"At most {REASON_MAX_CHARS} characters."
        raise ServiceError(message, code="too_long", fields={"reason": [message]})
    return reason


def _lock_report(report):
    if report is None:
        return None
    try:
        return Report.objects.select_for_update().get(pk=report.pk)
    except Report.DoesNotExist:
        raise NotFoundError("No such report.")


def _resolve(report, moderator, status):
    """Close an open report; a report already resolved keeps its first resolution."""
    if report is None or report.status != Report.Status.OPEN:
        return
    report.status = status
    report.resolved_by = moderator
    report.resolved_at = timezone.now()
    report.save(update_fields=["status", "resolved_by", "resolved_at"])


def _audit(*, moderator, action, reason, report, **target):
    """The audit row; `target` names the post, comment and/or user acted on."""
    return ModerationAction.objects.create(moderator=moderator, action=action, reason=reason, report=report, **target)


def _lock_content(target, report):
    """The post or comment to act on, locked: `target` if given, else the report's content."""
    if target is None:
        if report is None:
            raise ServiceError("Name the content to act on.", code="no_target")
        if report.user_id is not None:
            raise ServiceError("This report is about an account, not content.", code="not_content")
        target = report.post if report.post_id is not None else report.comment
    elif report is not None and (report.post_id, report.comment_id) not in ((target.pk, None), (None, target.pk)):
        raise ServiceError("The report is about something else.", code="report_mismatch")
    model = type(target)
    if model not in (Post, Comment):
        raise ServiceError("Only posts and comments can be hidden, removed or restored.", code="not_content")
    return model.objects.select_for_update().get(pk=target.pk)


def _content_kwargs(content):
    if isinstance(content, Post):
        return {"post": content, "user_id": content.author_id}
    return {"comment": content, "user_id": content.author_id}


def _lock_user(user, report):
    """The account to act on, locked: `user` if given, else the report's account or author."""
    if user is None:
        if report is None:
            raise ServiceError("Name the account to act on.", code="no_target")
        if report.user_id is not None:
            user_id = report.user_id
        elif report.post_id is not None:
            user_id = report.post.author_id
        else:
            user_id = report.comment.author_id
    else:
        user_id = user.pk
    return User.objects.select_for_update().get(pk=user_id)


def _removed_by_moderator(content):
    kwargs = {"post": content} if isinstance(content, Post) else {"comment": content}
    return ModerationAction.objects.filter(action=ModerationAction.Action.REMOVE, **kwargs).exists()


# --- Content ---------------------------------------------------------------------------------------


@transaction.atomic
def hide_content(*, moderator, reason, target=None, report=None):
    """Hide a post or comment (the report's, unless `target` names one) from everyone but moderators."""
    reason = _check_reason(reason)
    report = _lock_report(report)
    content = _lock_content(target, report)
    if content.hidden_at is None:
        content.hidden_at = timezone.now()
        content.save(update_fields=["hidden_at", "updated_at"])
        if isinstance(content, Post):
            post_withdrawn.send(sender=Post, post=content)
    _resolve(report, moderator, Report.Status.ACTIONED)
    return _audit(
        moderator=moderator,
        action=ModerationAction.Action.HIDE,
        reason=reason,
        report=report,
        **_content_kwargs(content),
    )


@transaction.atomic
def remove_content(*, moderator, reason, target=None, report=None):
    """Remove a post or comment (soft delete); counters follow as when its author deletes it."""
    reason = _check_reason(reason)
    report = _lock_report(report)
    content = _lock_content(target, report)
    if content.deleted_at is None:
        content.deleted_at = timezone.now()
        content.save(update_fields=["deleted_at", "updated_at"])
        if isinstance(content, Comment):
            services.move_comment_counters(content, -1)
        else:
            services.move_share_counter(content, -1)
            post_withdrawn.send(sender=Post, post=content)
    _resolve(report, moderator, Report.Status.ACTIONED)
    return _audit(
        moderator=moderator,
        action=ModerationAction.Action.REMOVE,
        reason=reason,
        report=report,
        **_content_kwargs(content),
    )


@transaction.atomic
def restore_content(*, moderator, reason, target=None, report=None):
    """Undo hide and remove. Content its author deleted stays deleted."""
    reason = _check_reason(reason)
    report = _lock_report(report)
    content = _lock_content(target, report)
    fields = []
    if content.deleted_at is not None:
        if not _removed_by_moderator(content):
            raise ServiceError("Its author deleted this; it can't be restored.", code="deleted_by_author")
        content.deleted_at = None
        fields.append("deleted_at")
        if isinstance(content, Comment):
            services.move_comment_counters(content, +1)
        else:
            services.move_share_counter(content, +1)
    if content.hidden_at is not None:
        content.hidden_at = None
        fields.append("hidden_at")
    if fields:
        content.save(update_fields=[*fields, "updated_at"])
        visible_again = content.deleted_at is None and content.hidden_at is None
        if isinstance(content, Post) and visible_again and content.status == Post.Status.PUBLISHED:
            post_published.send(sender=Post, post=content)
    _resolve(report, moderator, Report.Status.ACTIONED)
    return _audit(
        moderator=moderator,
        action=ModerationAction.Action.RESTORE,
        reason=reason,
        report=report,
        **_content_kwargs(content),
    )


# --- Accounts --------------------------------------------------------------------------------------


def _check_may_act_on(moderator, user):
    if user.pk == moderator.pk:
        raise ForbiddenError("You can't act on your own account.", code="own_account")
    if (user.is_staff or user.is_superuser) and not moderator.is_superuser:
        raise ForbiddenError("Only a superuser can act on staff accounts.", code="staff_account")
    if user.deactivated_at is not None:
        raise ServiceError("This account is deactivated.", code="deactivated")


@transaction.atomic
def warn_user(*, moderator, reason, user=None, report=None):
    """Warn an account (the report's account or the author of the reported content)."""
    reason = _check_reason(reason)
    report = _lock_report(report)
    user = _lock_user(user, report)
    _check_may_act_on(moderator, user)
    send_event_on_commit([user.pk], "moderation.warning", {"reason": reason})
    _resolve(report, moderator, Report.Status.ACTIONED)
    return _audit(moderator=moderator, action=ModerationAction.Action.WARN, reason=reason, report=report, user=user)


@transaction.atomic
def suspend_user(*, moderator, reason, user=None, report=None):
    """Suspend an account: it can't sign in, its tokens stop working, its content disappears.

    Unlike deactivation nothing is erased (deactivated_at stays empty), so unsuspend_user undoes it.
    """
    reason = _check_reason(reason)
    report = _lock_report(report)
    user = _lock_user(user, report)
    _check_may_act_on(moderator, user)
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    tokens.revoke_all(user)
    services.counters_recount_for(user_id=user.pk)  # its likes, comments and shares stop counting
    close_sockets_on_commit([user.pk])
    _resolve(report, moderator, Report.Status.ACTIONED)
    return _audit(moderator=moderator, action=ModerationAction.Action.SUSPEND, reason=reason, report=report, user=user)


@transaction.atomic
def unsuspend_user(*, moderator, reason, user=None, report=None):
    """Lift a suspension. Deactivated accounts stay deactivated."""
    reason = _check_reason(reason)
    report = _lock_report(report)
    user = _lock_user(user, report)
    _check_may_act_on(moderator, user)
    if user.is_active:
        raise ServiceError("This account isn't suspended.", code="not_suspended")
    user.is_active = True
    user.save(update_fields=["is_active"])
    services.counters_recount_for(user_id=user.pk)
    _resolve(report, moderator, Report.Status.ACTIONED)
    return _audit(
        moderator=moderator, action=ModerationAction.Action.UNSUSPEND, reason=reason, report=report, user=user
    )


# --- Reports without action ------------------------------------------------------------------------


@transaction.atomic
def dismiss_report(*, moderator, report, reason):
    """Close an open report without acting on its target."""
    reason = _check_reason(reason)
    report = _lock_report(report)
    if report.status != Report.Status.OPEN:
        raise ServiceError("This report is already resolved.", code="already_resolved")
    _resolve(report, moderator, Report.Status.DISMISSED)
    if report.post_id is not None:
        target = {"post_id": report.post_id, "user_id": report.post.author_id}
    elif report.comment_id is not None:
        target = {"comment_id": report.comment_id, "user_id": report.comment.author_id}
    else:
        target = {"user_id": report.user_id}
    return _audit(moderator=moderator, action=ModerationAction.Action.DISMISS, reason=reason, report=report, **target)

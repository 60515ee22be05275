"""Reports and moderation: people report posts, comments and accounts; moderators act on them;
the people acted on are told why and may appeal.

Every function is keyword-only and runs in one transaction. Each moderator action writes
exactly one ModerationAction row (who, what, when, why) and resolves the report it was taken
for. Moderator permission is checked by the entry point (the admin); the services take the
moderator user and record it. Side effects (socket events, closing sockets) run on commit.

The person acted on is told (posts.signals.moderation_taken → a MODERATION notification; a
suspended account sees its suspended page instead) and may appeal once per action (Appeal);
a moderator upholds or reverses the appeal, which is audited like any action.

A comment counts in its post's `comments_count` while it isn't deleted: removing one takes
it off the count, restoring it puts it back. Hiding doesn't touch counters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict, cast, overload

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts import services as account_services
from posts import selectors, services
from posts.models import Appeal, Comment, Hashtag, ModerationAction, Post, Report
from posts.signals import appeal_decided, moderation_taken, post_published, post_withdrawn
from socialsite import ratelimit, safe_cache
from socialsite.errors import ConflictError, NotFoundError, ServiceError
from socialsite.params import parse_uuid
from socialsite.realtime.events import send_event_on_commit

if TYPE_CHECKING:
    from uuid import UUID

    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User as UserModel

User = get_user_model()

TARGET_TYPES = ("post", "comment", "user")
DETAILS_MAX_CHARS = 1000
REASON_MAX_CHARS = account_services.MODERATION_REASON_MAX_CHARS
APPEAL_MAX_CHARS = 2000


# --- Reports ---------------------------------------------------------------------------------------


def report_target_type(report: Report) -> str:
    """The one target the report names: "post", "comment" or "user"."""
    if report.post_id is not None:
        return "post"
    if report.comment_id is not None:
        return "comment"
    return "user"


def report_target_id(report: Report) -> UUID:
    target_id: UUID = getattr(report, f"{report_target_type(report)}_id")
    return target_id


def reports_queryset(*, reporter: UserModel) -> QuerySet[Report]:
    """The reporter's own reports, newest first."""
    return Report.objects.filter(reporter=reporter).order_by("-created_at")


def report_target_get(
    reporter: UserModel, target_type: str, target_id: UUID | str
) -> tuple[Post | Comment | UserModel, UUID]:
    """(target, owner id) when the reporter may see the target; else NotFoundError."""
    if target_type == "post":
        post = selectors.post_get_bare(viewer=reporter, post_id=target_id)
        return post, post.author_id
    if target_type == "comment":
        pk = parse_uuid(target_id, "No such comment.")
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
def report_create(
    *, reporter: UserModel, target_type: str, target_id: UUID | str, reason: str, details: str | None = ""
) -> tuple[Report, bool]:
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


_check_reason = account_services.check_moderation_reason


@overload
def _lock_report(report: Report) -> Report: ...
@overload
def _lock_report(report: None) -> None: ...
def _lock_report(report: Report | None) -> Report | None:
    if report is None:
        return None
    try:
        return Report.objects.select_for_update().get(pk=report.pk)
    except Report.DoesNotExist:
        raise NotFoundError("No such report.")


def _resolve(report: Report | None, moderator: UserModel, status: str) -> None:
    """Close an open report; a report already resolved keeps its first resolution."""
    if report is None or report.status != Report.Status.OPEN:
        return
    report.status = status
    report.resolved_by = moderator
    report.resolved_at = timezone.now()
    report.save(update_fields=["status", "resolved_by", "resolved_at"])


def _audit(*, moderator: UserModel, action: str, reason: str, report: Report | None, **target: Any) -> ModerationAction:
    """The audit row; `target` names the post, comment and/or user acted on."""
    return ModerationAction.objects.create(moderator=moderator, action=action, reason=reason, report=report, **target)


def _lock_content(target: Post | Comment | None, report: Report | None) -> Post | Comment:
    """The post or comment to act on, locked: `target` if given, else the report's content."""
    if target is None:
        if report is None:
            raise ServiceError("Name the content to act on.", code="no_target")
        if report.user_id is not None:
            raise ServiceError("This report is about an account, not content.", code="not_content")
        target = _reported_content(report)
    elif report is not None and (report.post_id, report.comment_id) not in ((target.pk, None), (None, target.pk)):
        raise ServiceError("The report is about something else.", code="report_mismatch")
    model = type(target)
    if model not in (Post, Comment):
        raise ServiceError("Only posts and comments can be hidden, removed or restored.", code="not_content")
    return model.objects.select_for_update().get(pk=target.pk)


def _reported_content(report: Report) -> Post | Comment:
    """The post or comment of a report about content (posts_report_one_target: exactly one is set)."""
    return cast(Post, report.post) if report.post_id is not None else cast(Comment, report.comment)


def _content_kwargs(content: Post | Comment) -> dict[str, Any]:
    if isinstance(content, Post):
        return {"post": content, "user_id": content.author_id}
    return {"comment": content, "user_id": content.author_id}


def _lock_user(user: UserModel | None, report: Report | None) -> UserModel:
    """The account to act on, locked: `user` if given, else the report's account or author."""
    if user is None:
        if report is None:
            raise ServiceError("Name the account to act on.", code="no_target")
        user_id = report.user_id if report.user_id is not None else _reported_content(report).author_id
    else:
        user_id = user.pk
    return User.objects.select_for_update().get(pk=user_id)


def _removed_by_moderator(content: Post | Comment) -> bool:
    kwargs = {"post": content} if isinstance(content, Post) else {"comment": content}
    return ModerationAction.objects.filter(action=ModerationAction.Action.REMOVE, **kwargs).exists()


# --- Content ---------------------------------------------------------------------------------------


@transaction.atomic
def hide_content(
    *, moderator: UserModel, reason: str, target: Post | Comment | None = None, report: Report | None = None
) -> ModerationAction:
    """Hide a post or comment (the report's, unless `target` names one) from everyone but moderators."""
    reason = _check_reason(reason)
    report = _lock_report(report)
    content = _lock_content(target, report)
    changed = content.hidden_at is None
    if changed:
        content.hidden_at = timezone.now()
        content.save(update_fields=["hidden_at", "updated_at"])
        if isinstance(content, Post):
            post_withdrawn.send(sender=Post, post=content)
    _resolve(report, moderator, Report.Status.ACTIONED)
    action = _audit(
        moderator=moderator,
        action=ModerationAction.Action.HIDE,
        reason=reason,
        report=report,
        **_content_kwargs(content),
    )
    if changed:
        moderation_taken.send(sender=ModerationAction, action=action)
    return action


@transaction.atomic
def remove_content(
    *, moderator: UserModel, reason: str, target: Post | Comment | None = None, report: Report | None = None
) -> ModerationAction:
    """Remove a post or comment (soft delete); counters follow as when its author deletes it."""
    reason = _check_reason(reason)
    report = _lock_report(report)
    content = _lock_content(target, report)
    changed = content.deleted_at is None
    if changed:
        content.deleted_at = timezone.now()
        content.save(update_fields=["deleted_at", "updated_at"])
        if isinstance(content, Comment):
            services.move_comment_counters(content, -1)
        else:
            services.move_share_counter(content, -1)
            post_withdrawn.send(sender=Post, post=content)
    _resolve(report, moderator, Report.Status.ACTIONED)
    action = _audit(
        moderator=moderator,
        action=ModerationAction.Action.REMOVE,
        reason=reason,
        report=report,
        **_content_kwargs(content),
    )
    if changed:
        moderation_taken.send(sender=ModerationAction, action=action)
    return action


@transaction.atomic
def restore_content(
    *, moderator: UserModel, reason: str, target: Post | Comment | None = None, report: Report | None = None
) -> ModerationAction:
    """Undo hide and remove. Content its author deleted stays deleted."""
    reason = _check_reason(reason)
    report = _lock_report(report)
    content = _lock_content(target, report)
    fields: list[str] = []
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
# Suspension is the account's state (accounts.services.user_suspend / user_unsuspend, also called
# from the user's admin page); posts records it on account_suspended / account_unsuspended
# (posts.receivers → record_suspension), so both doors write the same audit row.


def _check_may_act_on(moderator: UserModel, user: UserModel) -> None:
    account_services.check_may_moderate(moderator=moderator, user=user)


@transaction.atomic
def warn_user(
    *, moderator: UserModel, reason: str, user: UserModel | None = None, report: Report | None = None
) -> ModerationAction:
    """Warn an account (the report's account or the author of the reported content). It sees a
    banner with the reason until it dismisses it, and a notification."""
    reason = _check_reason(reason)
    report = _lock_report(report)
    user = _lock_user(user, report)
    _check_may_act_on(moderator, user)
    send_event_on_commit([user.pk], "moderation.warning", {"reason": reason})
    _resolve(report, moderator, Report.Status.ACTIONED)
    action = _audit(moderator=moderator, action=ModerationAction.Action.WARN, reason=reason, report=report, user=user)
    _forget_warnings(user.pk)
    moderation_taken.send(sender=ModerationAction, action=action)
    return action


@transaction.atomic
def suspend_user(
    *, moderator: UserModel, reason: str, user: UserModel | None = None, report: Report | None = None
) -> ModerationAction:
    """Suspend an account: it can't sign in, its tokens stop working, its content disappears.

    Unlike deactivation nothing is erased (deactivated_at stays empty), so unsuspend_user undoes it.
    """
    reason = _check_reason(reason)
    report = _lock_report(report)
    user = _lock_user(user, report)
    account_services.user_suspend(user=user, moderator=moderator, reason=reason, report=report)
    return ModerationAction.objects.filter(user=user, action=ModerationAction.Action.SUSPEND).latest("pk")


@transaction.atomic
def unsuspend_user(
    *, moderator: UserModel, reason: str, user: UserModel | None = None, report: Report | None = None
) -> ModerationAction:
    """Lift a suspension. Deactivated accounts stay deactivated."""
    reason = _check_reason(reason)
    report = _lock_report(report)
    user = _lock_user(user, report)
    account_services.user_unsuspend(user=user, moderator=moderator, reason=reason, report=report)
    return ModerationAction.objects.filter(user=user, action=ModerationAction.Action.UNSUSPEND).latest("pk")


def record_suspension(
    *, user: UserModel, moderator: UserModel, reason: str, report: Report | None = None, suspended: bool = True
) -> ModerationAction:
    """posts' side of a suspension or its lifting, in its transaction (posts.receivers): the
    account's likes, comments and shares stop (or start again) counting, the report is resolved,
    and the audit row is written."""
    services.counters_recount_for(user_id=user.pk)
    report = _lock_report(report)
    _resolve(report, moderator, Report.Status.ACTIONED)
    kind = ModerationAction.Action.SUSPEND if suspended else ModerationAction.Action.UNSUSPEND
    return _audit(moderator=moderator, action=kind, reason=reason, report=report, user=user)


# --- Trends (search.trends calls these) -------------------------------------------------------------


def record_trend_action(*, moderator: UserModel, name: str, hidden: bool, reason: str = "") -> ModerationAction:
    """The audit row for hiding (or showing again) a trending hashtag, in the caller's transaction."""
    hashtag = Hashtag.objects.filter(name=name).first()
    kind = ModerationAction.Action.HIDE_TREND if hidden else ModerationAction.Action.SHOW_TREND
    reason = (reason or "").strip()[:REASON_MAX_CHARS] or f"#{name}"
    return _audit(moderator=moderator, action=kind, reason=reason, report=None, hashtag=hashtag)


# --- Reports without action ------------------------------------------------------------------------


@transaction.atomic
def dismiss_report(*, moderator: UserModel, report: Report, reason: str) -> ModerationAction:
    """Close an open report without acting on its target."""
    reason = _check_reason(reason)
    report = _lock_report(report)
    if report.status != Report.Status.OPEN:
        raise ServiceError("This report is already resolved.", code="already_resolved")
    _resolve(report, moderator, Report.Status.DISMISSED)
    if report.user_id is not None:
        target: dict[str, Any] = {"user_id": report.user_id}
    else:
        target = _content_kwargs(_reported_content(report))
    return _audit(moderator=moderator, action=ModerationAction.Action.DISMISS, reason=reason, report=report, **target)


# --- What the person acted on sees -----------------------------------------------------------------


def parse_action_id(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def own_action_get(*, user: UserModel | AnonymousUser | None, action_id: object) -> ModerationAction:
    """An action taken on this user's account or content that they may read and appeal; else NotFoundError
    (someone else's action looks the same as none)."""
    pk = parse_action_id(action_id)
    action = (
        ModerationAction.objects.filter(pk=pk, user=user, action__in=ModerationAction.APPEALABLE)
        .select_related("post", "comment")
        .first()
        if pk is not None and user is not None and user.pk is not None
        else None
    )
    if action is None:
        raise NotFoundError("No such moderation action.")
    return action


WARNINGS_CACHE_SECONDS = 300


class WarningRow(TypedDict):
    pk: int
    reason: str


def _warnings_key(user_id: UUID) -> str:
    return f"moderation:warnings:{user_id}"


def _forget_warnings(user_id: UUID) -> None:
    """The banner is read again (a warning, a dismissal, a reversal): now, and again after the
    commit, in case a page cached the old list in between."""
    key = _warnings_key(user_id)
    safe_cache.delete(key)
    transaction.on_commit(lambda: safe_cache.delete(key))


def warnings_to_show(user: UserModel | AnonymousUser | None) -> list[WarningRow]:
    """The warnings the user hasn't dismissed, newest first (the banner on their pages):
    [{"pk", "reason"}]. Cached per user, so the pages of everyone never warned make no query."""
    if user is None or not user.is_authenticated:
        return []
    key = _warnings_key(user.pk)
    warnings: list[WarningRow] | None = safe_cache.get(key)
    if warnings is None:
        warnings = list(
            ModerationAction.objects.filter(user=user, action=ModerationAction.Action.WARN, dismissed_at__isnull=True)
            .order_by("-pk")
            .values("pk", "reason")[:3]
        )
        safe_cache.set(key, warnings, WARNINGS_CACHE_SECONDS)
    return warnings


@transaction.atomic
def warning_dismiss(*, user: UserModel, action_id: object) -> None:
    """The warned user read the warning: its banner goes (the warning stays in the log and appealable)."""
    action = own_action_get(user=user, action_id=action_id)
    if action.action != ModerationAction.Action.WARN:
        raise NotFoundError("No such warning.")
    ModerationAction.objects.filter(pk=action.pk, dismissed_at__isnull=True).update(dismissed_at=timezone.now())
    _forget_warnings(user.pk)


def latest_suspension(user: UserModel) -> ModerationAction | None:
    """The action that suspended the account (its reason), or None if none is recorded."""
    return ModerationAction.objects.filter(user=user, action=ModerationAction.Action.SUSPEND).order_by("-pk").first()


def moderated_post_for_author(
    *, viewer: UserModel | AnonymousUser | None, post_id: UUID | str
) -> tuple[Post, ModerationAction] | None:
    """(post, action) when the viewer wrote this post and a moderator hid or removed it; else None.
    The author still finds their post's page, with why it is gone and the appeal link."""
    if viewer is None or not viewer.is_authenticated:
        return None
    try:
        pk = parse_uuid(post_id, "No such post.")
    except NotFoundError:
        return None
    post = Post.objects.filter(pk=pk, author=viewer).first()
    if post is None or (post.hidden_at is None and post.deleted_at is None):
        return None
    action = (
        ModerationAction.objects.filter(
            post=post, action__in=(ModerationAction.Action.HIDE, ModerationAction.Action.REMOVE)
        )
        .order_by("-pk")
        .first()
    )
    if action is None:  # its author deleted it: nothing a moderator did
        return None
    return post, action


def appeal_for(action: ModerationAction) -> Appeal | None:
    """The latest appeal of this action, or None."""
    return Appeal.objects.filter(action=action).order_by("-created_at").first()


# --- Appeals ---------------------------------------------------------------------------------------


@transaction.atomic
def appeal_create(*, appellant: UserModel, action_id: object, message: str | None) -> tuple[Appeal, bool]:
    """Appeal an action taken on the appellant's own account or content. -> (appeal, created).

    One open appeal per action: sending it again (a replay, a double click) returns the open one;
    a decided appeal is final. Rate-limited per appellant (THROTTLE_APPEAL)."""
    ratelimit.hit("appeal", appellant.pk, settings.THROTTLE_APPEAL, message="Too many appeals; try again later.")
    message = (message or "").strip()
    if not message:
        raise ServiceError("Say why the decision should change.", fields={"message": ["This field may not be blank."]})
    if len(message) > APPEAL_MAX_CHARS:
        text = f"At most {APPEAL_MAX_CHARS} characters."
        raise ServiceError(text, code="too_long", fields={"message": [text]})
    action = own_action_get(user=appellant, action_id=action_id)
    action = ModerationAction.objects.select_for_update().get(pk=action.pk)  # one appeal at a time per action
    existing = appeal_for(action)
    if existing is not None and existing.status == Appeal.Status.OPEN:
        return existing, False
    if existing is not None:
        raise ConflictError("This appeal was already decided.", code="already_decided")
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(action=action, appellant=appellant, message=message)
    except IntegrityError:  # a concurrent submission won the race
        return Appeal.objects.get(action=action, status=Appeal.Status.OPEN), False
    return appeal, True


DECISIONS = ("uphold", "reverse")


@transaction.atomic
def appeal_decide(*, moderator: UserModel, appeal: Appeal, decision: str, reason: str) -> Appeal:
    """Uphold the action, or reverse it through the services that undo it (restore_content,
    unsuspend_user; a warning is withdrawn). The decision is audited and the appellant is told."""
    reason = _check_reason(reason)
    if decision not in DECISIONS:
        raise ServiceError("Uphold or reverse.", fields={"decision": [f"One of: {', '.join(DECISIONS)}."]})
    try:
        appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
    except Appeal.DoesNotExist:
        raise NotFoundError("No such appeal.")
    if appeal.status != Appeal.Status.OPEN:
        raise ServiceError("This appeal is already decided.", code="already_decided")
    action = ModerationAction.objects.select_related("post", "comment", "user").get(pk=appeal.action_id)
    if action.user_id is not None and action.user_id == moderator.pk:
        raise ServiceError("You can't decide an appeal about your own account.", code="own_account")
    Action = ModerationAction.Action
    if decision == "uphold":
        row = _audit(
            moderator=moderator,
            action=Action.UPHOLD,
            reason=reason,
            report=None,
            post=action.post,
            comment=action.comment,
            user=action.user,
        )
        appeal.status = Appeal.Status.UPHELD
    else:
        if action.action in (Action.HIDE, Action.REMOVE):
            target = action.post or action.comment
            if target is None:
                raise ServiceError("The content is gone for good.", code="content_gone")
            row = restore_content(moderator=moderator, reason=reason, target=target)
        elif action.action == Action.SUSPEND:
            row = unsuspend_user(moderator=moderator, reason=reason, user=action.user)
        else:  # a warning: withdrawn, its banner gone
            ModerationAction.objects.filter(pk=action.pk, dismissed_at__isnull=True).update(dismissed_at=timezone.now())
            _forget_warnings(cast("UUID", action.user_id))  # a warning names its account
            row = _audit(moderator=moderator, action=Action.REVERSE, reason=reason, report=None, user=action.user)
        appeal.status = Appeal.Status.REVERSED
    appeal.decided_by, appeal.decided_at, appeal.decision = moderator, timezone.now(), row
    appeal.save(update_fields=["status", "decided_by", "decided_at", "decision"])
    appeal_decided.send(sender=Appeal, appeal=appeal)
    return appeal

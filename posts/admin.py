"""Moderators' view of posts, comments and media, the reports queue and the moderation audit log."""

from django.contrib import admin
from django.db import models
from django.db.models import Case, Value, When
from django.urls import reverse
from django.utils.html import format_html

from media.models import Media
from posts import moderation
from posts.models import Appeal, Comment, Hashtag, ModerationAction, Post, Report
from socialsite.admin_actions import act_with_reason


class MediaInline(admin.TabularInline):
    model = Media
    fields = ("position", "kind", "status", "error", "alt_text", "filter", "blurhash")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "author",
        "content_type",
        "visibility",
        "status",
        "likes_count",
        "comments_count",
        "created_at",
    )
    list_filter = ("content_type", "visibility", "status", "created_at")
    search_fields = ("content", "author__username")
    list_select_related = ("author",)
    raw_id_fields = ("author", "shared_post")
    readonly_fields = ("content_html", "likes_count", "comments_count", "shares_count", "created_at", "updated_at")
    date_hierarchy = "created_at"
    inlines = [MediaInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("id", "author", "post", "parent", "created_at", "deleted_at")
    search_fields = ("content", "author__username")
    list_select_related = ("author", "post")
    raw_id_fields = ("author", "post", "parent")
    readonly_fields = ("content_html", "replies_count", "created_at", "updated_at")


@admin.register(Hashtag)
class HashtagAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


# --- Reports and moderation ------------------------------------------------------------------------
# The queue of reports and the audit log. Every action goes through posts.moderation with a
# reason typed on a confirmation page; acting needs the change permission on reports.


def target_link(obj):
    """A link to the admin page of what a report or an action is about."""
    if obj.post_id is not None:
        return format_html(
            '<a href="{}">post {}</a>', reverse("admin:posts_post_change", args=[obj.post_id]), obj.post_id
        )
    if obj.comment_id is not None:
        url = reverse("admin:posts_comment_change", args=[obj.comment_id])
        return format_html('<a href="{}">comment {}</a>', url, obj.comment_id)
    if obj.user_id is not None:
        return format_html('<a href="{}">{}</a>', reverse("admin:accounts_user_change", args=[obj.user_id]), obj.user)
    if getattr(obj, "hashtag_id", None) is not None:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:posts_hashtag_change", args=[obj.hashtag_id]), obj.hashtag
        )
    return "—"


# action name -> (service, verb shown on the page, what it does)
REPORT_ACTIONS = {
    "hide_content": (moderation.hide_content, "Hide", "Hide the reported posts and comments from everyone."),
    "remove_content": (moderation.remove_content, "Remove", "Remove the reported posts and comments."),
    "restore_content": (
        moderation.restore_content,
        "Restore",
        "Show the reported posts and comments again (undoes hide and remove).",
    ),
    "warn_author": (
        moderation.warn_user,
        "Warn",
        "Send a warning to the reported accounts or the authors of the reported content.",
    ),
    "suspend_author": (
        moderation.suspend_user,
        "Suspend",
        "Suspend the reported accounts or the authors of the reported content: they can't sign in "
        "and their content disappears until unsuspended.",
    ),
    "unsuspend_author": (
        moderation.unsuspend_user,
        "Unsuspend",
        "Lift the suspension of the reported accounts or the authors of the reported content (after an appeal).",
    ),
    "dismiss_reports": (moderation.dismiss_report, "Dismiss", "Close the reports without acting on anything."),
}


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("__str__", "target", "reason", "reporter", "status", "created_at")
    list_display_links = ("__str__",)
    list_filter = ("status", "reason")
    search_fields = ("details", "reporter__username")
    list_select_related = ("reporter", "user")
    readonly_fields = (
        "reporter",
        "target",
        "reason",
        "details",
        "status",
        "created_at",
        "resolved_by",
        "resolved_at",
    )
    fields = readonly_fields
    actions = list(REPORT_ACTIONS)

    @admin.display(description="target")
    def target(self, report):
        return target_link(report)

    def get_ordering(self, request):
        # The queue: open reports first, oldest first.
        open_first = Case(When(status=Report.Status.OPEN, then=Value(0)), default=Value(1))
        return [open_first.asc(), "created_at"]

    def has_add_permission(self, request):
        return False  # reports come from users

    def _run(self, request, queryset, name):
        service, verb, explanation = REPORT_ACTIONS[name]
        return act_with_reason(
            self,
            request,
            list(queryset.select_related("post", "comment", "user").order_by("created_at")),
            action=name,
            verb=verb,
            explanation=explanation,
            template="admin/posts/report/action_confirmation.html",
            act=lambda report, reason: service(moderator=request.user, report=report, reason=reason),
        )

    @admin.action(description="Hide reported content", permissions=["change"])
    def hide_content(self, request, queryset):
        return self._run(request, queryset, "hide_content")

    @admin.action(description="Remove reported content", permissions=["change"])
    def remove_content(self, request, queryset):
        return self._run(request, queryset, "remove_content")

    @admin.action(description="Restore reported content", permissions=["change"])
    def restore_content(self, request, queryset):
        return self._run(request, queryset, "restore_content")

    @admin.action(description="Warn the author", permissions=["change"])
    def warn_author(self, request, queryset):
        return self._run(request, queryset, "warn_author")

    @admin.action(description="Suspend the author", permissions=["change"])
    def suspend_author(self, request, queryset):
        return self._run(request, queryset, "suspend_author")

    @admin.action(description="Unsuspend the author", permissions=["change"])
    def unsuspend_author(self, request, queryset):
        return self._run(request, queryset, "unsuspend_author")

    @admin.action(description="Dismiss reports", permissions=["change"])
    def dismiss_reports(self, request, queryset):
        return self._run(request, queryset, "dismiss_reports")


class ModeratorFilter(admin.SimpleListFilter):
    """Only the accounts that took moderation actions, not every user."""

    title = "moderator"
    parameter_name = "moderator"

    def lookups(self, request, model_admin):
        from django.contrib.auth import get_user_model

        moderators = get_user_model().objects.filter(moderation_actions__isnull=False).distinct()
        return [(str(user.pk), user.username) for user in moderators.order_by("username")]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(moderator_id=self.value())
        return queryset


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    """The audit log: who did what to which content or account, when and why. Read-only."""

    list_display = ("created_at", "moderator", "action", "target", "user", "report", "reason")
    list_filter = ("action", ModeratorFilter)
    search_fields = ("reason", "moderator__username", "user__username")
    list_select_related = ("moderator", "user", "report", "hashtag")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    fields = ("created_at", "moderator", "action", "target", "user", "report", "reason")
    readonly_fields = fields

    @admin.display(description="target")
    def target(self, action):
        return target_link(action)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Appeals ---------------------------------------------------------------------------------------
# The people acted on appeal from the action's page or the suspended page (posts.appeal_views);
# moderators uphold or reverse here (change permission on appeals), with a reason that is audited
# and sent to the appellant.

APPEAL_DECISIONS = {
    "uphold_appeals": ("uphold", "Uphold", "Keep the moderators' decision; the appellant is told, with your reason."),
    "reverse_appeals": (
        "reverse",
        "Reverse",
        "Undo the appealed action: hidden or removed content is restored, a suspension is lifted, a warning "
        "is withdrawn. The appellant is told, with your reason.",
    ),
}


@admin.register(Appeal)
class AppealAdmin(admin.ModelAdmin):
    list_display = ("__str__", "appellant", "appealed", "status", "created_at", "decided_by")
    list_display_links = ("__str__",)
    list_filter = ("status",)
    search_fields = ("message", "appellant__username")
    list_select_related = ("appellant", "action", "decided_by")
    fields = (
        "appellant",
        "appealed",
        "action_reason",
        "message",
        "status",
        "created_at",
        "decided_by",
        "decided_at",
        "decision_reason",
    )
    readonly_fields = fields
    actions = list(APPEAL_DECISIONS)

    @admin.display(description="appealed action")
    def appealed(self, appeal):
        action = appeal.action
        url = reverse("admin:posts_moderationaction_change", args=[action.pk])
        return format_html(
            '<a href="{}">{} ({})</a> on {}', url, action.get_action_display(), action.pk, target_link(action)
        )

    @admin.display(description="reason given")
    def action_reason(self, appeal):
        return appeal.action.reason

    @admin.display(description="decision")
    def decision_reason(self, appeal):
        return appeal.decision.reason if appeal.decision_id else "—"

    def get_ordering(self, request):
        open_first = Case(When(status=Appeal.Status.OPEN, then=Value(0)), default=Value(1))
        return [open_first.asc(), "created_at"]

    def has_add_permission(self, request):
        return False  # appeals come from the people acted on

    def has_delete_permission(self, request, obj=None):
        return False

    def _decide(self, request, queryset, name):
        decision, verb, explanation = APPEAL_DECISIONS[name]
        return act_with_reason(
            self,
            request,
            list(queryset.select_related("appellant", "action__user", "action__post", "action__comment")),
            action=name,
            verb=verb,
            explanation=explanation,
            template="admin/posts/appeal/action_confirmation.html",
            act=lambda appeal, reason: moderation.appeal_decide(
                moderator=request.user, appeal=appeal, decision=decision, reason=reason
            ),
            noun="appeal",
        )

    @admin.action(description="Uphold the appealed action", permissions=["change"])
    def uphold_appeals(self, request, queryset):
        return self._decide(request, queryset, "uphold_appeals")

    @admin.action(description="Reverse the appealed action", permissions=["change"])
    def reverse_appeals(self, request, queryset):
        return self._decide(request, queryset, "reverse_appeals")

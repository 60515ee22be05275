"""Moderators see direct messages only through a report: the reported message with a few of
its neighbours for context. Conversations and messages have no admin pages of their own."""

from django.contrib import admin
from django.db.models import Case, Value, When
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from messaging import services
from messaging.models import Message, MessageReport
from socialsite.admin_actions import act_with_reason

CONTEXT_MESSAGES = 5  # shown before and after the reported one

# action name -> (remove the message?, verb, what it does)
ACTIONS = {
    "remove_messages": (True, "Remove", "Erase the reported messages for every member of their conversations."),
    "dismiss_reports": (False, "Dismiss", "Close the reports and leave the messages as they are."),
}


@admin.register(MessageReport)
class MessageReportAdmin(admin.ModelAdmin):
    list_display = ("__str__", "sender", "reason", "reporter", "status", "created_at")
    list_filter = ("status", "reason")
    search_fields = ("details", "reporter__username", "message__sender__username")
    list_select_related = ("reporter", "message__sender")
    readonly_fields = (
        "reporter",
        "sender",
        "reason",
        "details",
        "conversation_excerpt",
        "status",
        "created_at",
        "resolved_by",
        "resolved_at",
        "resolution",
    )
    fields = readonly_fields
    actions = list(ACTIONS)

    def get_ordering(self, request):
        open_first = Case(When(status=MessageReport.Status.OPEN, then=Value(0)), default=Value(1))
        return [open_first.asc(), "created_at"]

    def has_add_permission(self, request):
        return False  # reports come from members

    def has_delete_permission(self, request, obj=None):
        return False  # a report is a record

    @admin.display(description="sender")
    def sender(self, report):
        user = report.message.sender
        return format_html('<a href="{}">{}</a>', reverse("admin:accounts_user_change", args=[user.pk]), user)

    @admin.display(description="the reported message in its conversation")
    def conversation_excerpt(self, report):
        reported = report.message
        around = (
            Message.objects.filter(
                conversation_id=reported.conversation_id,
                seq__gte=reported.seq - CONTEXT_MESSAGES,
                seq__lte=reported.seq + CONTEXT_MESSAGES,
            )
            .select_related("sender")
            .order_by("seq")
        )
        rows = (
            (
                "▶ reported: " if message.pk == reported.pk else "",
                message.created_at.strftime("%Y-%m-%d %H:%M"),
                message.sender,
                "(deleted)" if message.deleted_at else message.content,
            )
            for message in around
        )
        return format_html("<ol>{}</ol>", format_html_join("", "<li>{}{} <b>{}</b>: {}</li>", rows))

    def _run(self, request, queryset, name):
        remove, verb, explanation = ACTIONS[name]

        def resolve(report, reason):
            services.report_resolve(
                moderator=request.user, report_id=report.pk, remove_message=remove, resolution=reason
            )

        return act_with_reason(
            self,
            request,
            list(queryset.select_related("reporter", "message__sender").order_by("created_at")),
            action=name,
            verb=verb,
            explanation=explanation,
            template="admin/messaging/messagereport/action_confirmation.html",
            act=resolve,
        )

    @admin.action(description="Remove the reported messages", permissions=["change"])
    def remove_messages(self, request, queryset):
        return self._run(request, queryset, "remove_messages")

    @admin.action(description="Dismiss reports", permissions=["change"])
    def dismiss_reports(self, request, queryset):
        return self._run(request, queryset, "dismiss_reports")
